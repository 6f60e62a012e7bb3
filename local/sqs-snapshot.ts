// Persistence for the SQS emulator. fauxqs keeps every queue in memory; the hub must not lose an
// accepted message across a graceful restart, so on stop the emulator's own store is read (not
// drained through ReceiveMessage, which would bump receive counts and hide messages) and written
// to disk, and on start it is put back before the server accepts requests.
//
// fauxqs does not export its store, so the shapes below are the parts of its internal classes
// (dist/sqs/sqsStore.js, fauxqs 1.9.x) this module relies on. They are checked at load time by
// loadFauxqsStore() so that an upgrade that renames them fails loudly instead of losing messages.

import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export interface FauxqsMessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** fauxqs's SqsMessage: the stored form of one message. */
export interface FauxqsMessage {
  messageId: string;
  body: string;
  md5OfBody: string;
  messageAttributes: Record<string, FauxqsMessageAttribute>;
  md5OfMessageAttributes: string;
  sentTimestamp: number;
  approximateReceiveCount: number;
  approximateFirstReceiveTimestamp?: number;
  delayUntil?: number;
  messageGroupId?: string;
  messageDeduplicationId?: string;
  sequenceNumber?: string;
}

interface DedupEntry {
  messageId: string;
  sequenceNumber: string;
}

/** toad-cache's FifoMap as fauxqs uses it for FIFO deduplication ids (5-minute TTL). */
interface FauxqsDedupCache {
  keys(): IterableIterator<string>;
  get(key: string): DedupEntry | undefined;
  set(key: string, value: DedupEntry): void;
  expiresAt(key: string): number | undefined;
  readonly items: Map<string, { expiry: number }>;
}

export interface FauxqsQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly attributes: Record<string, string>;
  readonly tags: Map<string, string>;
  readonly createdTimestamp: number;
  sequenceCounter: number;
  readonly deduplicationCache: FauxqsDedupCache;
  isFifo(): boolean;
  enqueue(msg: FauxqsMessage): void;
  inspectMessages(): {
    ready: FauxqsMessage[];
    delayed: FauxqsMessage[];
    inflight: Array<{ message: FauxqsMessage; receiptHandle: string; visibilityDeadline: number }>;
  };
}

export interface FauxqsStore {
  /** Host used in queue URLs; empty means "the Host header of the CreateQueue request". */
  host: string;
  region?: string;
  createQueue(
    name: string,
    url: string,
    arn: string,
    attributes?: Record<string, string>,
    tags?: Record<string, string>,
  ): FauxqsQueue;
  getQueueByName(name: string): FauxqsQueue | undefined;
  listQueues(): FauxqsQueue[];
}

/** Creates an empty fauxqs SqsStore, loaded from the same module file fauxqs's server uses. */
export async function loadFauxqsStore(): Promise<FauxqsStore> {
  // The package's exports map only exposes its entry point; the store lives beside it.
  const entry = import.meta.resolve("fauxqs");
  const mod = (await import(new URL("./sqs/sqsStore.js", entry).href)) as {
    SqsStore?: new () => FauxqsStore;
    SqsQueue?: { prototype: Partial<FauxqsQueue> };
  };
  if (typeof mod.SqsStore !== "function" || typeof mod.SqsQueue?.prototype.inspectMessages !== "function") {
    throw new Error("fauxqs internals changed: SqsStore/SqsQueue not found; SQS persistence would not work");
  }
  return new mod.SqsStore();
}

const SNAPSHOT_VERSION = 1;

interface QueueSnapshot {
  name: string;
  arn: string;
  attributes: Record<string, string>;
  tags: Record<string, string>;
  sequenceCounter: number;
  /** FIFO deduplication ids still inside their 5-minute window, with their absolute expiry. */
  dedup: Array<{ id: string; messageId: string; sequenceNumber: string; expiresAt: number }>;
  /** Every message, ready, delayed or in flight; FIFO queues in sequence-number order. */
  messages: FauxqsMessage[];
}

export interface SqsSnapshot {
  version: number;
  savedAt: number;
  queues: QueueSnapshot[];
}

const bySequence = (a: FauxqsMessage, b: FauxqsMessage): number => {
  // Sequence numbers are zero-padded to 20 digits, so string order is numeric order.
  const x = a.sequenceNumber ?? "";
  const y = b.sequenceNumber ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
};

function captureQueue(queue: FauxqsQueue, now: number): QueueSnapshot {
  const { ready, delayed, inflight } = queue.inspectMessages();
  // In-flight messages were received but not deleted: their consumer is gone after the restart, so
  // they are saved as visible messages (keeping the receive count they already have).
  const all = [...inflight.map((e) => e.message), ...ready, ...delayed].map((m) => structuredClone(m));
  if (queue.isFifo()) all.sort(bySequence);
  else all.sort((a, b) => a.sentTimestamp - b.sentTimestamp);

  const dedup: QueueSnapshot["dedup"] = [];
  if (queue.isFifo()) {
    for (const id of [...queue.deduplicationCache.keys()]) {
      const entry = queue.deduplicationCache.get(id); // get() drops expired entries
      const expiresAt = queue.deduplicationCache.expiresAt(id);
      if (entry && expiresAt !== undefined && expiresAt > now) dedup.push({ id, ...entry, expiresAt });
    }
  }
  return {
    name: queue.name,
    arn: queue.arn,
    attributes: { ...queue.attributes },
    tags: Object.fromEntries(queue.tags),
    sequenceCounter: queue.sequenceCounter,
    dedup,
    messages: all,
  };
}

export function captureSnapshot(store: FauxqsStore, now = Date.now()): SqsSnapshot {
  return {
    version: SNAPSHOT_VERSION,
    savedAt: now,
    queues: store.listQueues().map((q) => captureQueue(q, now)),
  };
}

/**
 * Puts a snapshot's queues and messages into an empty store. Queue URLs are rebuilt from
 * `baseUrl` because the port may differ from the last run.
 */
export function restoreSnapshot(
  store: FauxqsStore,
  snapshot: SqsSnapshot,
  baseUrl: string,
  now = Date.now(),
): void {
  if (snapshot.version !== SNAPSHOT_VERSION) {
    throw new Error(
      `SQS snapshot version ${snapshot.version} is not supported (expected ${SNAPSHOT_VERSION})`,
    );
  }
  for (const q of snapshot.queues) {
    const queue =
      store.getQueueByName(q.name) ??
      store.createQueue(q.name, `${baseUrl}/${accountOf(q.arn)}/${q.name}`, q.arn, q.attributes, q.tags);
    queue.sequenceCounter = Math.max(queue.sequenceCounter, q.sequenceCounter);
    // enqueue() appends to the message's group (FIFO) or to the queue, and parks messages whose
    // delay has not run out; feeding messages in their saved order keeps FIFO group order.
    for (const m of q.messages) queue.enqueue(m);
    for (const d of q.dedup) {
      if (d.expiresAt <= now) continue;
      queue.deduplicationCache.set(d.id, { messageId: d.messageId, sequenceNumber: d.sequenceNumber });
      // set() starts a fresh 5-minute window; the original window is what SQS promises.
      const item = queue.deduplicationCache.items.get(d.id);
      if (item) item.expiry = d.expiresAt;
    }
  }
}

function accountOf(arn: string): string {
  return arn.split(":")[4] ?? "000000000000";
}

/** Writes atomically: a crash mid-write leaves the previous snapshot intact. */
export async function writeSnapshotFile(path: string, snapshot: SqsSnapshot): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(tmp, JSON.stringify(snapshot), "utf8");
  await rename(tmp, path);
}

export async function readSnapshotFile(path: string): Promise<SqsSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return JSON.parse(text) as SqsSnapshot;
}
