// The local SQS: fauxqs's server, bound to loopback, with queues made from infra/manifest.ts and
// its messages saved to disk on stop and restored on start (see sqs-snapshot.ts).

import { join } from "node:path";
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type QueueAttributeName,
  SetQueueAttributesCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { buildApp } from "fauxqs";
import { type QueueDef, queueDef } from "../infra/manifest";
import { assertPortFree } from "./ports";
import {
  captureSnapshot,
  loadFauxqsStore,
  readSnapshotFile,
  restoreSnapshot,
  writeSnapshotFile,
} from "./sqs-snapshot";

export interface SqsEmulator {
  /** http://host:port, for SQSClient's `endpoint`. */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  /** URL of a queue by its logical (manifest) name. */
  queueUrl(logicalName: string): string;
  /** ARN of a queue by its logical name, as the event source mapping names it. */
  queueArn(logicalName: string): string;
  /** Creates the queues (dead-letter queues first) or brings existing ones to the definitions. */
  ensureQueues(defs: readonly QueueDef[]): Promise<void>;
  /** Closes the server, then saves every queue's messages to <dataDir>/sqs-snapshot.json. */
  stop(): Promise<void>;
}

export interface StartSqsOptions {
  port: number;
  /** Defaults to 127.0.0.1. */
  host?: string;
  dataDir: string;
  /** Region in ARNs; defaults to us-east-1. */
  region?: string;
}

/** fauxqs's fixed account id, part of every queue URL and ARN it makes. */
const ACCOUNT_ID = "000000000000";

export const SNAPSHOT_FILE = "sqs-snapshot.json";

/** Physical queue name: FIFO queues must end in ".fifo". */
export function physicalQueueName(def: Pick<QueueDef, "name" | "fifo">): string {
  return def.fifo ? `${def.name}.fifo` : def.name;
}

/** An SQSClient for the emulator; any credentials are accepted by fauxqs. */
export function localSqsClient(endpoint: string, region = "us-east-1"): SQSClient {
  return new SQSClient({ endpoint, region, credentials: { accessKeyId: "local", secretAccessKey: "local" } });
}

function queueAttributes(def: QueueDef, dlqArn: string | undefined): Record<string, string> {
  const attrs: Record<string, string> = { VisibilityTimeout: String(def.visibilityTimeoutSeconds) };
  if (def.fifo) {
    attrs.FifoQueue = "true";
    attrs.ContentBasedDeduplication = def.contentBasedDeduplication ? "true" : "false";
  }
  if (def.retentionSeconds !== undefined) attrs.MessageRetentionPeriod = String(def.retentionSeconds);
  if (def.deadLetter && dlqArn) {
    attrs.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: def.deadLetter.maxReceiveCount,
    });
  }
  return attrs;
}

/** Orders definitions so each dead-letter queue is created before the queues that point at it. */
function creationOrder(defs: readonly QueueDef[]): QueueDef[] {
  const byName = new Map(defs.map((d) => [d.name, d]));
  const done = new Set<string>();
  const out: QueueDef[] = [];
  const visit = (d: QueueDef, path: Set<string>): void => {
    if (done.has(d.name)) return;
    if (path.has(d.name)) throw new Error(`queue ${d.name}: dead-letter queues form a cycle`);
    path.add(d.name);
    const target = d.deadLetter?.queue;
    if (target !== undefined) {
      const dlq = byName.get(target);
      if (!dlq) throw new Error(`queue ${d.name}: dead-letter queue ${target} is not among the definitions`);
      visit(dlq, path);
    }
    done.add(d.name);
    out.push(d);
  };
  for (const d of defs) visit(d, new Set());
  return out;
}

export async function startSqs(opts: StartSqsOptions): Promise<SqsEmulator> {
  const host = opts.host ?? "127.0.0.1";
  const region = opts.region ?? "us-east-1";
  await assertPortFree(opts.port, host, "RELAIS_SQS_PORT", "SQS emulator");

  const endpoint = `http://${host}:${opts.port}`;
  const snapshotPath = join(opts.dataDir, SNAPSHOT_FILE);
  const store = await loadFauxqsStore();
  // Empty host: queue URLs follow the request's Host header (http://127.0.0.1:port/...), which the
  // SDK can reach; fauxqs's default "sqs.<region>.localhost" does not resolve everywhere.
  store.host = "";
  store.region = region;

  const snapshot = await readSnapshotFile(snapshotPath);
  if (snapshot) restoreSnapshot(store, snapshot, endpoint);

  // buildApp + our own listen rather than startFauxqs, which always binds 0.0.0.0.
  // The cast: BuildAppOptions wants all three stores, but buildApp creates each missing one itself.
  const app = buildApp({ logger: false, defaultRegion: region, stores: { sqsStore: store } as never });
  await app.listen({ port: opts.port, host });

  const client = localSqsClient(endpoint, region);
  const known = new Map<string, QueueDef>();
  const defOf = (logicalName: string): QueueDef => known.get(logicalName) ?? queueDef(logicalName);
  const queueUrl = (logicalName: string): string =>
    `${endpoint}/${ACCOUNT_ID}/${physicalQueueName(defOf(logicalName))}`;
  const queueArn = (logicalName: string): string =>
    `arn:aws:sqs:${region}:${ACCOUNT_ID}:${physicalQueueName(defOf(logicalName))}`;

  let stopped: Promise<void> | undefined;

  return {
    endpoint,
    port: opts.port,
    region,
    queueUrl,
    queueArn,
    async ensureQueues(defs) {
      for (const def of defs) known.set(def.name, def);
      for (const def of creationOrder(defs)) {
        const dlqArn = def.deadLetter ? await arnOf(client, queueUrl(def.deadLetter.queue)) : undefined;
        const attrs = queueAttributes(def, dlqArn);
        const name = physicalQueueName(def);
        try {
          const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attrs }));
          if (out.QueueUrl !== queueUrl(def.name)) {
            throw new Error(
              `SQS emulator made queue ${name} at ${out.QueueUrl}, expected ${queueUrl(def.name)}`,
            );
          }
        } catch (err) {
          // The queue exists (from the snapshot or an earlier call) with other settings: the
          // manifest is the truth, so its settings win. FifoQueue cannot change, and need not.
          // The SDK names it "QueueNameExists" or, with the query-compatible header fauxqs sends,
          // "AWS.SimpleQueueService.QueueNameExists".
          if (!/(^|\.)QueueNameExists$/.test((err as { name?: string }).name ?? "")) throw err;
          const { FifoQueue: _fifo, ...settable } = attrs;
          await client.send(
            new SetQueueAttributesCommand({ QueueUrl: queueUrl(def.name), Attributes: settable }),
          );
        }
      }
    },
    stop() {
      stopped ??= (async () => {
        client.destroy();
        // Close first: pending long polls are answered while closing and may move messages in
        // flight; the snapshot taken afterwards sees the final state.
        await app.close();
        await writeSnapshotFile(snapshotPath, captureSnapshot(store));
      })();
      return stopped;
    },
  };
}

async function arnOf(client: SQSClient, url: string): Promise<string> {
  const out = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["QueueArn" satisfies QueueAttributeName],
    }),
  );
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`SQS emulator: no ARN for ${url}`);
  return arn;
}
