import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../support/ports";

// `npm start` as a user runs it: a child process on its own ports, ready when it prints so, healthy,
// and stopped by Ctrl-C (SIGINT) with its Java child.

let child: ChildProcess | undefined;
let dataDir = "";
afterAll(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function javaProcessesUsing(dir: string): number {
  try {
    return execFileSync("pgrep", ["-f", dir]).toString().trim().split("\n").filter(Boolean).length;
  } catch {
    return 0; // pgrep exits 1 when nothing matches
  }
}

describe("npm start", () => {
  it("starts on its own ports, answers /health, and stops cleanly on SIGINT", async () => {
    dataDir = await mkdtemp(join(tmpdir(), "relais-start-"));
    const ports = {
      RELAIS_HTTP_PORT: String(await freePort()),
      RELAIS_WS_PORT: String(await freePort()),
      RELAIS_DYNAMODB_PORT: String(await freePort()),
      RELAIS_SQS_PORT: String(await freePort()),
    };
    const proc = spawn("npm", ["start"], {
      env: { ...process.env, ...ports, RELAIS_DATA_DIR: dataDir },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so Ctrl-C can be sent like a terminal does
    });
    child = proc;
    let output = "";
    proc.stdout?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    proc.stderr?.on("data", (d: Buffer) => {
      output += d.toString();
    });
    const started = Date.now();
    while (!output.includes("ready in")) {
      if (proc.exitCode !== null) throw new Error(`npm start exited early:\n${output}`);
      if (Date.now() - started > 60_000) throw new Error(`npm start not ready after 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(output).toContain(`ws://127.0.0.1:${ports.RELAIS_WS_PORT}`);
    expect(output).toContain("npm run account -- add alice@localhost");

    const res = await fetch(`http://127.0.0.1:${ports.RELAIS_HTTP_PORT}/health`);
    const health = (await res.json()) as { status: string; components: { component: string; ok: boolean }[] };
    expect(res.status).toBe(200);
    expect(health.status).toBe("ok");
    const names = health.components.map((c) => c.component);
    for (const c of [
      "dynamodb:Sessions",
      "dynamodb:Directory",
      "local:dynamodb-emulator",
      "local:sqs-emulator",
      "local:websocket-emulator",
      "local:queue-pollers",
    ]) {
      expect(names).toContain(c);
    }
    expect(javaProcessesUsing(dataDir)).toBeGreaterThan(0);

    const exited = new Promise<void>((r) => proc.once("exit", () => r()));
    process.kill(-(proc.pid ?? 0), "SIGINT");
    await exited;
    // npm itself dies of the SIGINT the terminal sends to the whole group; the hub under it stops
    // on its own terms: it says so only after every component stopped.
    for (let i = 0; i < 50 && !output.includes("[relais] stopped"); i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(output).toContain("[relais] stopped");
    // The JVM is gone too (give the OS a moment to reap it).
    for (let i = 0; i < 20 && javaProcessesUsing(dataDir) > 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(javaProcessesUsing(dataDir)).toBe(0);
  });
});
