import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ConditionalCheckFailedException,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  TransactionCanceledException,
} from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tables } from "../../infra/manifest";
import { ensureTables } from "../../local/create-tables";
import { type DynamoEmulator, dynamoClientConfig, skipSyncs, startDynamo } from "../../local/dynamodb";
import { assertPortFree, PortInUseError } from "../../local/ports";
import { startTtlSweeper } from "../../local/ttl-sweeper";
import { epochSeconds, isExpired, withoutExpired } from "../../shared/storage/ttl";
import { freePort } from "../support/ports";

const physical = (logical: string) => `relais-test-${logical}`;
const SESSIONS = physical("Sessions");
const DIRECTORY = physical("Directory");

let dataDir: string;
let port: number;
let emulator: DynamoEmulator;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;

function connect(endpoint: string) {
  client = new DynamoDBClient(dynamoClientConfig(endpoint));
  doc = DynamoDBDocumentClient.from(client);
}

/** The pid of the DynamoDB Local JVM whose database lives in `dir`. */
function jvmOf(dir: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args.some((a) => a.includes("DynamoDBLocal")) && args.includes(dir)) return Number(entry);
    } catch {
      // The process ended while we looked.
    }
  }
  throw new Error(`no DynamoDB Local JVM runs on ${dir}`);
}

const preloadsNoSync = (pid: number) => readFileSync(`/proc/${pid}/maps`, "utf8").includes("libeatmydata");

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "relais-dynamo-"));
  port = await freePort();
  emulator = await startDynamo({ dataDir, port });
  connect(emulator.endpoint);
  await ensureTables(client, tables, physical);
});

afterAll(async () => {
  client?.destroy();
  await emulator?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe("startDynamo", () => {
  it("answers on the requested port, on 127.0.0.1 by default", () => {
    expect(emulator.endpoint).toBe(`http://127.0.0.1:${port}`);
    expect(emulator.port).toBe(port);
  });

  it("refuses a taken port with an error naming RELAIS_DYNAMODB_PORT", async () => {
    const taken = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(taken, "127.0.0.1", resolve));
    try {
      const err = await startDynamo({ dataDir, port: taken }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PortInUseError);
      expect((err as PortInUseError).envVar).toBe("RELAIS_DYNAMODB_PORT");
      expect((err as Error).message).toContain("RELAIS_DYNAMODB_PORT");
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it("keeps its SQLite file in write-ahead-log mode (file format bytes 18 and 19 are 2)", async () => {
    const header = await readFile(join(dataDir, "shared-local-instance.db"));
    expect([header[18], header[19]]).toEqual([2, 2]);
  });

  it("keeps the write-ahead log checkpointed while it runs", async () => {
    const big = "x".repeat(3000);
    for (let i = 0; i < 300; i += 25)
      await Promise.all(
        Array.from({ length: 25 }, (_, k) =>
          doc.send(new PutCommand({ TableName: SESSIONS, Item: { connectionId: `wal-${i + k}`, big } })),
        ),
      );
    // The checkpointer copies the log back within a second; the next write then starts the log over.
    await new Promise((r) => setTimeout(r, 2500));
    await doc.send(new PutCommand({ TableName: SESSIONS, Item: { connectionId: "wal-after" } }));
    const out = execFileSync("sqlite3", [
      join(dataDir, "shared-local-instance.db"),
      "PRAGMA wal_checkpoint(PASSIVE);",
    ])
      .toString()
      .trim();
    const [, logFrames] = out.split("|").map(Number);
    // 300 items of 3 KB wrote well over 300 frames; a log started over holds the last write's few.
    expect(logFrames).toBeLessThan(50);
  });

  it("runs without the sqlite3 shell, and says its writes are slower", async () => {
    const own = await mkdtemp(join(tmpdir(), "relais-dynamo-nosqlite-"));
    const bin = join(own, "bin");
    await mkdir(bin);
    await symlink(execFileSync("sh", ["-c", "command -v java"]).toString().trim(), join(bin, "java"));
    const savedPath = process.env.PATH;
    process.env.PATH = bin;
    const notices: string[] = [];
    try {
      const other = await startDynamo({
        dataDir: join(own, "db"),
        port: await freePort(),
        notice: (l) => notices.push(l),
      });
      await other.stop();
    } finally {
      process.env.PATH = savedPath;
      await rm(own, { recursive: true, force: true });
    }
    expect(notices).toContainEqual(
      expect.stringMatching(/rollback journal \(no sqlite3 shell\): writes are slower/),
    );
  });

  it("skips the JVM's disk syncs with libeatmydata, unless told to keep them", async () => {
    // .ci/run installs eatmydata; without it the hub says so (checked below).
    expect(preloadsNoSync(jvmOf(dataDir))).toBe(true);
    const own = await mkdtemp(join(tmpdir(), "relais-dynamo-sync-"));
    const notices: string[] = [];
    try {
      const other = await startDynamo({
        dataDir: own,
        port: await freePort(),
        sync: true,
        notice: (l) => notices.push(l),
      });
      try {
        expect(preloadsNoSync(jvmOf(own))).toBe(false);
      } finally {
        await other.stop();
      }
    } finally {
      await rm(own, { recursive: true, force: true });
    }
    expect(notices).toEqual([]);
  });

  it("without libeatmydata, keeps the syncs and says its writes are slower", () => {
    const notices: string[] = [];
    expect(skipSyncs((l) => notices.push(l), [join(dataDir, "no-such-library.so")])).toEqual({});
    expect(notices).toEqual([expect.stringMatching(/syncs every commit to disk \(no libeatmydata/)]);
  });

  it("explains that Java is required when java is not on PATH", async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = join(dataDir, "no-java-here");
    try {
      const err = await startDynamo({ dataDir, port: await freePort() }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Error);
      expect((err as Error).message).toContain(
        "Java 17 is required: apt-get install -y openjdk-17-jre-headless",
      );
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe("ensureTables", () => {
  it("creates the manifest's tables with their keys, indexes, billing and TTL", async () => {
    const sessions = (await client.send(new DescribeTableCommand({ TableName: SESSIONS }))).Table;
    expect(sessions?.TableStatus).toBe("ACTIVE");
    expect(sessions?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST");
    expect(sessions?.KeySchema).toEqual([{ AttributeName: "connectionId", KeyType: "HASH" }]);
    expect(sessions?.GlobalSecondaryIndexes?.map((i) => [i.IndexName, i.KeySchema, i.Projection])).toEqual([
      [
        "byJid",
        [
          { AttributeName: "bareJid", KeyType: "HASH" },
          { AttributeName: "resource", KeyType: "RANGE" },
        ],
        {
          ProjectionType: "INCLUDE",
          NonKeyAttributes: expect.arrayContaining(["st", "available", "smEnabled", "expiresAt"]),
        },
      ],
    ]);

    const directory = (await client.send(new DescribeTableCommand({ TableName: DIRECTORY }))).Table;
    expect(directory?.KeySchema).toEqual([
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ]);
    expect(directory?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toEqual(["gsi1"]);

    for (const name of [SESSIONS, DIRECTORY]) {
      const ttl = (await client.send(new DescribeTimeToLiveCommand({ TableName: name })))
        .TimeToLiveDescription;
      expect(ttl).toEqual({ TimeToLiveStatus: "ENABLED", AttributeName: "expiresAt" });
    }
  });

  it("is idempotent: a second run keeps existing tables and their items", async () => {
    await doc.send(new PutCommand({ TableName: DIRECTORY, Item: { pk: "idem", sk: "1", v: 1 } }));
    await ensureTables(client, tables, physical);
    const got = await doc.send(new GetCommand({ TableName: DIRECTORY, Key: { pk: "idem", sk: "1" } }));
    expect(got.Item).toEqual({ pk: "idem", sk: "1", v: 1 });
  });

  it("rejects an existing table whose keys differ from the manifest", async () => {
    const drifted = { ...tables[1], partitionKey: { name: "other", type: "S" } } as const;
    await expect(ensureTables(client, [drifted], physical)).rejects.toThrow(/key schema is pk:HASH,sk:RANGE/);
  });
});

describe("DynamoDB semantics the store relies on", () => {
  it("fails a conditional write with ConditionalCheckFailedException", async () => {
    const put = () =>
      doc.send(
        new PutCommand({
          TableName: SESSIONS,
          Item: { connectionId: "cond-1", bareJid: "a@example.org", resource: "r1" },
          ConditionExpression: "attribute_not_exists(connectionId)",
        }),
      );
    await put();
    await expect(put()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it("cancels a whole TransactWriteItems when one condition fails", async () => {
    await doc.send(new PutCommand({ TableName: DIRECTORY, Item: { pk: "tx", sk: "existing" } }));
    const err = await doc
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: DIRECTORY, Item: { pk: "tx", sk: "new" } } },
            {
              Put: {
                TableName: DIRECTORY,
                Item: { pk: "tx", sk: "existing", overwritten: true },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
          ],
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransactionCanceledException);
    expect((err as TransactionCanceledException).CancellationReasons?.map((r) => r.Code)).toEqual([
      "None",
      "ConditionalCheckFailed",
    ]);
    const fresh = await doc.send(new GetCommand({ TableName: DIRECTORY, Key: { pk: "tx", sk: "new" } }));
    expect(fresh.Item).toBeUndefined();
    const kept = await doc.send(new GetCommand({ TableName: DIRECTORY, Key: { pk: "tx", sk: "existing" } }));
    expect(kept.Item).toEqual({ pk: "tx", sk: "existing" });
  });

  it("queries a global secondary index", async () => {
    for (const [connectionId, resource] of [
      ["gsi-1", "phone"],
      ["gsi-2", "laptop"],
    ]) {
      await doc.send(
        new PutCommand({ TableName: SESSIONS, Item: { connectionId, bareJid: "gsi@example.org", resource } }),
      );
    }
    await doc.send(
      new PutCommand({
        TableName: SESSIONS,
        Item: { connectionId: "gsi-3", bareJid: "other@example.org", resource: "x" },
      }),
    );
    const res = await doc.send(
      new QueryCommand({
        TableName: SESSIONS,
        IndexName: "byJid",
        KeyConditionExpression: "bareJid = :j",
        ExpressionAttributeValues: { ":j": "gsi@example.org" },
      }),
    );
    expect(res.Items?.map((i) => [i.resource, i.connectionId])).toEqual([
      ["laptop", "gsi-2"],
      ["phone", "gsi-1"],
    ]);
  });
});

describe("TTL", () => {
  const ttlKeys = ["ttl-past", "ttl-future", "ttl-none"];
  const putTtlItems = async (nowS: number) => {
    await doc.send(
      new PutCommand({ TableName: DIRECTORY, Item: { pk: "ttl", sk: "ttl-past", expiresAt: nowS - 10 } }),
    );
    await doc.send(
      new PutCommand({ TableName: DIRECTORY, Item: { pk: "ttl", sk: "ttl-future", expiresAt: nowS + 3600 } }),
    );
    await doc.send(new PutCommand({ TableName: DIRECTORY, Item: { pk: "ttl", sk: "ttl-none" } }));
  };
  const remaining = async () => {
    const res = await doc.send(
      new QueryCommand({
        TableName: DIRECTORY,
        KeyConditionExpression: "pk = :p",
        ExpressionAttributeValues: { ":p": "ttl" },
      }),
    );
    return res.Items ?? [];
  };

  it("DynamoDB Local returns expired items, which withoutExpired filters out", async () => {
    const nowS = epochSeconds();
    await putTtlItems(nowS);
    const items = await remaining();
    expect(items.map((i) => i.sk).sort()).toEqual([...ttlKeys].sort());
    expect(items.filter((i) => isExpired(i, "expiresAt", nowS)).map((i) => i.sk)).toEqual(["ttl-past"]);
    expect(
      withoutExpired(items, "expiresAt", nowS)
        .map((i) => i.sk)
        .sort(),
    ).toEqual(["ttl-future", "ttl-none"]);
  });

  it("sweepOnce deletes expired items only, and counts them", async () => {
    const nowMs = Date.now();
    await putTtlItems(epochSeconds(nowMs));
    // An item whose TTL is more than five years old is one AWS never deletes.
    await doc.send(
      new PutCommand({ TableName: DIRECTORY, Item: { pk: "ttl", sk: "ttl-ancient", expiresAt: 1 } }),
    );
    const sweeper = startTtlSweeper({
      client,
      tables: tables.map((def) => ({ physicalName: physical(def.name), def })),
      intervalMs: 3_600_000,
      now: () => nowMs,
    });
    try {
      const deleted = await sweeper.sweepOnce();
      expect(deleted).toBe(1);
      expect((await remaining()).map((i) => i.sk).sort()).toEqual(["ttl-ancient", "ttl-future", "ttl-none"]);
      // Nothing left to do: a second sweep deletes nothing.
      expect(await sweeper.sweepOnce()).toBe(0);
    } finally {
      await sweeper.stop();
    }
  });

  it("does not delete an item refreshed between the scan and the delete", async () => {
    const nowS = epochSeconds();
    await doc.send(
      new PutCommand({ TableName: SESSIONS, Item: { connectionId: "race", expiresAt: nowS - 5 } }),
    );
    // A second client whose Scan responses are followed, before the sweeper sees them, by a
    // refresh of the item, as a live session renewing its TTL would do.
    const racing = new DynamoDBClient(dynamoClientConfig(emulator.endpoint));
    racing.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === "ScanCommand") {
          await doc.send(
            new PutCommand({ TableName: SESSIONS, Item: { connectionId: "race", expiresAt: nowS + 600 } }),
          );
        }
        return result;
      },
      { step: "initialize" },
    );
    const sweeper = startTtlSweeper({
      client: racing,
      tables: [{ physicalName: SESSIONS, def: tables[0] }],
      intervalMs: 3_600_000,
      now: () => nowS * 1000,
    });
    try {
      expect(await sweeper.sweepOnce()).toBe(0);
    } finally {
      await sweeper.stop();
      racing.destroy();
    }
    const got = await doc.send(new GetCommand({ TableName: SESSIONS, Key: { connectionId: "race" } }));
    expect(got.Item).toEqual({ connectionId: "race", expiresAt: nowS + 600 });
  });

  it("sweeps on its own every intervalMs until stopped", async () => {
    const nowMs = Date.now();
    const sweeper = startTtlSweeper({
      client,
      tables: tables.map((def) => ({ physicalName: physical(def.name), def })),
      intervalMs: 50,
      // The clock jumps two hours: the "future" item is now expired too.
      now: () => nowMs + 2 * 3600 * 1000,
    });
    try {
      await expect
        .poll(async () => (await remaining()).map((i) => i.sk).sort(), { timeout: 10_000 })
        .toEqual(["ttl-ancient", "ttl-none"]);
    } finally {
      await sweeper.stop();
    }
  });
});

describe("lifecycle", () => {
  it("keeps no JVM behind when the Node process that started it is terminated", async () => {
    const childPort = await freePort();
    const childDir = join(dataDir, "child");
    const fixture = fileURLToPath(new URL("./fixtures/dynamo-child.ts", import.meta.url));
    // Own process group, so that cleanup can reach a JVM left behind if this test fails.
    const proc = spawn(process.execPath, ["--import", "tsx", fixture, childDir, String(childPort)], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const group = proc.pid;
    try {
      let output = "";
      const ready = new Promise<void>((resolve, reject) => {
        proc.stdout.on("data", (d: Buffer) => {
          output += d.toString();
          if (output.includes("ready ")) resolve();
        });
        proc.stderr.on("data", (d: Buffer) => {
          output += d.toString();
        });
        proc.once("exit", (code) => reject(new Error(`child exited early (${code}):\n${output}`)));
      });
      await ready;
      const exited = new Promise((resolve) => proc.once("exit", (_code, signal) => resolve(signal)));
      proc.kill("SIGTERM");
      expect(await exited).toBe("SIGTERM");
      // The JVM held childPort; once it is free again, the JVM is gone.
      await expect
        .poll(
          () =>
            assertPortFree(childPort, "127.0.0.1", "X", "jvm").then(
              () => true,
              () => false,
            ),
          { timeout: 10_000 },
        )
        .toBe(true);
    } finally {
      try {
        if (group !== undefined) process.kill(-group, "SIGKILL");
      } catch {
        // ESRCH: the group is already gone, which is the expected case.
      }
    }
  }, 60_000);

  // Last, since it replaces the emulator the other tests use.
  it("keeps data across a stop and a start on the same dataDir", async () => {
    await doc.send(new PutCommand({ TableName: DIRECTORY, Item: { pk: "persist", sk: "1", n: 42 } }));
    client.destroy();
    await emulator.stop();
    await expect(assertPortFree(port, "127.0.0.1", "X", "jvm")).resolves.toBeUndefined();

    emulator = await startDynamo({ dataDir, port });
    connect(emulator.endpoint);
    await ensureTables(client, tables, physical);
    const got = await doc.send(new GetCommand({ TableName: DIRECTORY, Key: { pk: "persist", sk: "1" } }));
    expect(got.Item).toEqual({ pk: "persist", sk: "1", n: 42 });
    const scan = await doc.send(new ScanCommand({ TableName: SESSIONS, Select: "COUNT" }));
    expect(scan.Count).toBeGreaterThan(0);
  }, 60_000);
});
