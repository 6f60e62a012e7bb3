import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../local/config";
import { type Hub, startHub } from "../../local/hub";
import { PortInUseError } from "../../local/ports";
import { createAccount } from "../../shared/directory/accounts";
import { freePort } from "./ports";

export interface TestHub {
  readonly hub: Hub;
  readonly dataDir: string;
  /** ws://127.0.0.1:<port>, the XMPP WebSocket endpoint. */
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** Creates an account with a password of its own, and returns both. */
  account(jid: string, password?: string): Promise<{ jid: string; password: string }>;
  /** Stops the hub; keeps its data directory unless `wipe`. */
  stop(wipe?: boolean): Promise<void>;
}

export interface TestHubOptions {
  domains?: string[];
  /** Reuse a data directory (restart tests). */
  dataDir?: string;
  overrides?: Record<string, unknown>;
}

/**
 * The whole local hub in this test process, on free ports and a temporary data directory: the same
 * process `npm start` runs, so tests go through the real emulators and the real AWS SDK clients.
 */
export async function startTestHub(opts: TestHubOptions = {}): Promise<TestHub> {
  // Free ports are picked before the hub binds them: a test file running beside this one may take
  // one in between. Only that race is retried, with new ports.
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), "relais-test-")));
  for (let attempt = 1; ; attempt++) {
    try {
      return await startTestHubOnce({ ...opts, dataDir });
    } catch (err) {
      const portTaken = err instanceof PortInUseError || (err as NodeJS.ErrnoException).code === "EADDRINUSE";
      const fixedPorts = Object.keys(opts.overrides ?? {}).some((k) => k.endsWith("Port"));
      if (!portTaken || fixedPorts || attempt >= 3) throw err;
    }
  }
}

async function startTestHubOnce(opts: TestHubOptions & { dataDir: string }): Promise<TestHub> {
  const dataDir = opts.dataDir;
  const config = loadConfig(
    {},
    {
      dataDir,
      httpPort: await freePort(),
      wsPort: await freePort(),
      dynamodbPort: await freePort(),
      sqsPort: await freePort(),
      domains: (opts.domains ?? ["localhost"]).join(","),
      ...opts.overrides,
    },
  );
  const hub = await startHub(config);
  return {
    hub,
    dataDir,
    wsUrl: hub.endpoints.websocket,
    httpUrl: hub.endpoints.http,
    async account(jid, password = `pw-${Math.random().toString(36).slice(2)}-x`) {
      await createAccount(jid, password);
      return { jid, password };
    },
    async stop(wipe = true) {
      await hub.stop();
      if (wipe) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
