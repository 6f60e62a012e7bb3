import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { functions } from "../../infra/manifest";
import { loadConfig } from "../../local/config";
import { type Hub, startHub } from "../../local/hub";
import {
  type AwsCall,
  type CallCounts,
  callCounts,
  resetCallCounts,
  setCapacityCapture,
} from "../../shared/aws/call-counter";
import { createAccount } from "../../shared/directory/accounts";
import { freePort } from "../../test/support/ports";
import { type Clients, startClients } from "../xmpp/clients";
import { type Invocation, InvocationRecorder } from "./recorder";

/** What one measured window saw: every invocation, the calls outside them, and the process totals. */
export interface Window<T> {
  readonly value: T;
  readonly invocations: Invocation[];
  readonly outside: AwsCall[];
  readonly timings: Array<{ route: string; durationMs: number; failed: boolean }>;
  readonly totals: CallCounts;
  readonly wallMs: number;
}

/** Shared by every bench module of one run: one hub, one client worker. */
export interface BenchContext {
  readonly hub: Hub;
  readonly wsUrl: string;
  /** The tenant domain accounts are made in. */
  readonly domain: string;
  /** Fewer iterations (`--quick`, and the test of the bench itself). */
  readonly quick: boolean;
  readonly clients: Clients;
  /** Makes an account with a fresh name. */
  account(prefix: string): Promise<{ jid: string; password: string }>;
  /**
   * Runs `fn` with fresh counters, waits until the hub has been quiet for `quietMs` (frames the client
   * sends on its own, like XEP-0198 <r/> 250 ms after a stanza, are part of what is measured), and
   * returns what was recorded.
   */
  measure<T>(fn: () => Promise<T>, quietMs?: number, opts?: { attributeCalls?: boolean }): Promise<Window<T>>;
  /** Waits until no invocation (WebSocket route or queue consumer) has run for `quietMs`. */
  settle(quietMs: number, timeoutMs?: number): Promise<void>;
  /** Memory of the XMPP frame function in the manifest, for GB-s figures. */
  readonly frameFunctionMemoryMB: number;
  close(): Promise<void>;
}

export async function startBenchContext(opts: { quick: boolean; domain?: string }): Promise<BenchContext> {
  const domain = opts.domain ?? "bench.test";
  const dataDir = await mkdtemp(join(tmpdir(), "relais-bench-"));
  const recorder = new InvocationRecorder();
  const config = loadConfig(
    {},
    {
      dataDir,
      httpPort: await freePort(),
      wsPort: await freePort(),
      dynamodbPort: await freePort(),
      sqsPort: await freePort(),
      domains: domain,
    },
  );
  let hub: Hub;
  try {
    hub = await startHub(config, () => {}, {
      onWsInvoke: recorder.onInvoke,
      wrapWsRoute: recorder.wrap,
      wrapQueueHandler: recorder.wrapQueue,
      wrapHttp: recorder.wrapHttp,
    });
  } catch (err) {
    recorder.close();
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const clients = startClients();
  setCapacityCapture(true);
  let seq = 0;
  return {
    hub,
    wsUrl: hub.endpoints.websocket,
    domain,
    quick: opts.quick,
    clients,
    frameFunctionMemoryMB: functions.find((f) => f.name === "XmppFrame")?.memoryMB ?? 0,
    async account(prefix) {
      const jid = `${prefix}${++seq}@${domain}`;
      const password = `bench-${Math.random().toString(36).slice(2)}-pw`;
      await createAccount(jid, password);
      return { jid, password };
    },
    async measure(fn, quietMs = 400, opts = {}) {
      await recorder.settle(50);
      recorder.clear();
      resetCallCounts();
      recorder.attributeCalls = opts.attributeCalls ?? true;
      const started = performance.now();
      let value: Awaited<ReturnType<typeof fn>>;
      try {
        value = await fn();
        await recorder.settle(quietMs);
      } finally {
        recorder.attributeCalls = true;
      }
      const wallMs = performance.now() - started;
      return { value, ...recorder.snapshot(), totals: callCounts(), wallMs };
    },
    settle: (quietMs, timeoutMs) => recorder.settle(quietMs, timeoutMs),
    async close() {
      setCapacityCapture(false);
      await clients.close();
      recorder.close();
      await hub.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
