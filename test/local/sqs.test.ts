import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { QueueDef } from "../../infra/manifest";
import { queues as manifestQueues } from "../../infra/manifest";
import { PortInUseError } from "../../local/ports";
import { localSqsClient, SNAPSHOT_FILE, type SqsEmulator, startSqs } from "../../local/sqs";
import { freePort } from "../support/ports";

const defs: QueueDef[] = [
  { name: "Plain", fifo: false, visibilityTimeoutSeconds: 1 },
  { name: "Ordered", fifo: true, visibilityTimeoutSeconds: 1 },
  { name: "Hashed", fifo: true, contentBasedDeduplication: true, visibilityTimeoutSeconds: 1 },
  { name: "Dead", fifo: false, visibilityTimeoutSeconds: 30 },
  {
    name: "Work",
    fifo: false,
    visibilityTimeoutSeconds: 30,
    deadLetter: { queue: "Dead", maxReceiveCount: 2 },
  },
];

async function receiveAll(
  client: SQSClient,
  url: string,
  extra: { VisibilityTimeout?: number } = {},
): Promise<Message[]> {
  const out = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ["All"],
      MessageAttributeNames: ["All"],
      ...extra,
    }),
  );
  return out.Messages ?? [];
}

async function count(client: SQSClient, url: string): Promise<{ visible: number; inflight: number }> {
  const out = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages),
    inflight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

/** Receives a FIFO queue to the end, deleting as it goes, and returns bodies per group in delivery order. */
async function drainFifo(client: SQSClient, url: string): Promise<Record<string, string[]>> {
  const groups: Record<string, string[]> = {};
  for (;;) {
    const got = await receiveAll(client, url);
    if (got.length === 0) return groups;
    for (const m of got) {
      const g = m.Attributes?.MessageGroupId ?? "?";
      groups[g] ??= [];
      groups[g].push(m.Body ?? "");
      await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

describe("startSqs (fauxqs)", () => {
  let dataDir: string;
  let sqs: SqsEmulator;
  let client: SQSClient;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "relais-sqs-"));
    sqs = await startSqs({ port: await freePort(), dataDir });
    await sqs.ensureQueues(defs);
    client = localSqsClient(sqs.endpoint);
  });
  afterAll(async () => {
    client?.destroy();
    await sqs?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("binds loopback, names queues from the manifest and refuses a taken port", async () => {
    expect(sqs.endpoint).toBe(`http://127.0.0.1:${sqs.port}`);
    expect(sqs.queueUrl("Ordered")).toBe(`${sqs.endpoint}/000000000000/Ordered.fifo`);
    expect(sqs.queueArn("Plain")).toBe("arn:aws:sqs:us-east-1:000000000000:Plain");
    // Unknown to ensureQueues so far: falls back to infra/manifest.ts.
    for (const def of manifestQueues as readonly QueueDef[]) {
      expect(sqs.queueUrl(def.name)).toBe(
        `${sqs.endpoint}/000000000000/${def.name}${def.fifo ? ".fifo" : ""}`,
      );
    }
    expect(() => sqs.queueUrl("NoSuchQueue")).toThrow(/no queue named/);
    await expect(startSqs({ port: sqs.port, dataDir })).rejects.toBeInstanceOf(PortInUseError);
  });

  it("ensureQueues is idempotent, wires the redrive policy and applies changed settings", async () => {
    await sqs.ensureQueues(defs);
    const attrs = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.queueUrl("Work"), AttributeNames: ["All"] }),
    );
    expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? "{}")).toEqual({
      deadLetterTargetArn: sqs.queueArn("Dead"),
      maxReceiveCount: 2,
    });
    const fifo = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.queueUrl("Hashed"), AttributeNames: ["All"] }),
    );
    expect(fifo.Attributes).toMatchObject({ FifoQueue: "true", ContentBasedDeduplication: "true" });

    await sqs.ensureQueues([
      { name: "Dead", fifo: false, visibilityTimeoutSeconds: 45, retentionSeconds: 3600 },
    ]);
    const dead = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: sqs.queueUrl("Dead"), AttributeNames: ["All"] }),
    );
    expect(dead.Attributes).toMatchObject({ VisibilityTimeout: "45", MessageRetentionPeriod: "3600" });
  });

  it("creates the manifest's own queues", async () => {
    await sqs.ensureQueues(manifestQueues);
    for (const def of manifestQueues as readonly QueueDef[]) {
      const attrs = await client.send(
        new GetQueueAttributesCommand({ QueueUrl: sqs.queueUrl(def.name), AttributeNames: ["All"] }),
      );
      expect(attrs.Attributes?.VisibilityTimeout).toBe(String(def.visibilityTimeoutSeconds));
      expect(attrs.Attributes?.FifoQueue).toBe(def.fifo ? "true" : undefined);
      if (def.deadLetter) {
        expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? "{}")).toEqual({
          deadLetterTargetArn: sqs.queueArn(def.deadLetter.queue),
          maxReceiveCount: def.deadLetter.maxReceiveCount,
        });
      }
    }
  });

  it("standard queue: SendMessageBatch, ReceiveMessage of 10, DeleteMessageBatch", async () => {
    const url = sqs.queueUrl("Plain");
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: 10 }, (_, i) => ({ Id: `m${i}`, MessageBody: `body ${i}` })),
      }),
    );
    expect(sent.Successful).toHaveLength(10);
    const got = await receiveAll(client, url);
    expect(got).toHaveLength(10);
    expect(new Set(got.map((m) => m.Body))).toEqual(
      new Set(Array.from({ length: 10 }, (_, i) => `body ${i}`)),
    );
    const del = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: got.map((m, i) => ({ Id: `d${i}`, ReceiptHandle: m.ReceiptHandle })),
      }),
    );
    expect(del.Successful).toHaveLength(10);
    expect(await count(client, url)).toEqual({ visible: 0, inflight: 0 });
  });

  it("FIFO: message groups keep their order and a deduplication id drops the duplicate", async () => {
    const url = sqs.queueUrl("Ordered");
    const send = (group: string, body: string, dedup = body) =>
      client.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: body,
          MessageGroupId: group,
          MessageDeduplicationId: dedup,
        }),
      );
    const first = await send("a", "a1");
    await send("b", "b1");
    await send("a", "a2");
    const dup = await send("a", "a1 again", "a1");
    expect(dup.MessageId).toBe(first.MessageId);
    await send("b", "b2");
    await send("a", "a3");
    expect(await drainFifo(client, url)).toEqual({ a: ["a1", "a2", "a3"], b: ["b1", "b2"] });

    const hashed = sqs.queueUrl("Hashed");
    await client.send(new SendMessageCommand({ QueueUrl: hashed, MessageBody: "same", MessageGroupId: "g" }));
    await client.send(new SendMessageCommand({ QueueUrl: hashed, MessageBody: "same", MessageGroupId: "g" }));
    expect(await drainFifo(client, hashed)).toEqual({ g: ["same"] });
  });

  it("visibility timeout hides a received message, then it comes back with a higher receive count", async () => {
    const url = sqs.queueUrl("Plain");
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "hide me" }));
    const [first] = await receiveAll(client, url);
    expect(first?.Attributes?.ApproximateReceiveCount).toBe("1");
    expect(await receiveAll(client, url)).toHaveLength(0);
    // Long poll across the 1 s visibility timeout: the message reappears during the wait.
    const again = await client.send(
      new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5, MessageSystemAttributeNames: ["All"] }),
    );
    expect(again.Messages?.[0]?.MessageId).toBe(first?.MessageId);
    expect(again.Messages?.[0]?.Attributes?.ApproximateReceiveCount).toBe("2");
    await client.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again.Messages?.[0]?.ReceiptHandle }),
    );
  });

  it("long polling returns a message sent while it waits", async () => {
    const url = sqs.queueUrl("Plain");
    const started = Date.now();
    const pending = client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 10 }));
    await new Promise((r) => setTimeout(r, 300));
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "late" }));
    const out = await pending;
    expect(out.Messages?.[0]?.Body).toBe("late");
    // Answered on arrival, not at the end of the 10 s wait.
    expect(Date.now() - started).toBeLessThan(8_000);
    await client.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: out.Messages?.[0]?.ReceiptHandle }),
    );
  });

  it("redrives to the dead-letter queue after maxReceiveCount receives", async () => {
    const url = sqs.queueUrl("Work");
    const sent = await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "poison" }));
    for (let i = 1; i <= 2; i++) {
      const [m] = await receiveAll(client, url);
      expect(m?.Attributes?.ApproximateReceiveCount).toBe(String(i));
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: url,
          ReceiptHandle: m?.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    expect(await receiveAll(client, url)).toHaveLength(0);
    const [dead] = await receiveAll(client, sqs.queueUrl("Dead"));
    expect(dead?.MessageId).toBe(sent.MessageId);
    expect(dead?.Body).toBe("poison");
    await client.send(
      new DeleteMessageCommand({ QueueUrl: sqs.queueUrl("Dead"), ReceiptHandle: dead?.ReceiptHandle }),
    );
  });
});

describe("startSqs persistence", () => {
  const dirs: string[] = [];
  const running: SqsEmulator[] = [];
  const clients: SQSClient[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.destroy();
    for (const s of running.splice(0)) await s.stop();
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it("keeps every message across a graceful restart, in-flight ones visible again, FIFO order intact", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "relais-sqs-"));
    dirs.push(dataDir);
    const restartDefs: QueueDef[] = [
      { name: "Ordered", fifo: true, visibilityTimeoutSeconds: 300 },
      { name: "Plain", fifo: false, visibilityTimeoutSeconds: 300 },
    ];
    const one = await startSqs({ port: await freePort(), dataDir });
    await one.ensureQueues(restartDefs);
    const c1 = localSqsClient(one.endpoint);
    const fifoUrl = one.queueUrl("Ordered");
    for (const [g, b] of [
      ["a", "a1"],
      ["b", "b1"],
      ["a", "a2"],
      ["a", "a3"],
      ["b", "b2"],
    ] as const) {
      await c1.send(
        new SendMessageCommand({
          QueueUrl: fifoUrl,
          MessageBody: b,
          MessageGroupId: g,
          MessageDeduplicationId: b,
        }),
      );
    }
    // a1 and b1 go in flight (one per group), with a 300 s visibility timeout that a restart must not keep.
    const inflight = await receiveAll(c1, fifoUrl);
    expect(inflight.map((m) => m.Body).sort()).toEqual(["a1", "b1"]);
    const plainUrl = one.queueUrl("Plain");
    await c1.send(
      new SendMessageCommand({
        QueueUrl: plainUrl,
        MessageBody: "with attributes",
        MessageAttributes: {
          kind: { DataType: "String", StringValue: "senml" },
          blob: { DataType: "Binary", BinaryValue: new Uint8Array([1, 2, 3]) },
        },
      }),
    );
    await c1.send(new SendMessageCommand({ QueueUrl: plainUrl, MessageBody: "taken" }));
    await c1.send(new SendMessageCommand({ QueueUrl: plainUrl, MessageBody: "deleted" }));
    const taken = await receiveAll(c1, plainUrl);
    const toDelete = taken.find((m) => m.Body === "deleted");
    await c1.send(new DeleteMessageCommand({ QueueUrl: plainUrl, ReceiptHandle: toDelete?.ReceiptHandle }));
    c1.destroy();
    await one.stop();

    const saved = JSON.parse(await readFile(join(dataDir, SNAPSHOT_FILE), "utf8")) as { queues: unknown[] };
    expect(saved.queues).toHaveLength(2);

    // Another port: queue URLs follow it.
    const two = await startSqs({ port: await freePort(), dataDir });
    running.push(two);
    await two.ensureQueues(restartDefs);
    const c2 = localSqsClient(two.endpoint);
    clients.push(c2);

    // Deduplication ids survive too: a producer retrying a1 after the restart is still deduplicated.
    await c2.send(
      new SendMessageCommand({
        QueueUrl: two.queueUrl("Ordered"),
        MessageBody: "a1 retry",
        MessageGroupId: "a",
        MessageDeduplicationId: "a1",
      }),
    );
    const firstRound = await receiveAll(c2, two.queueUrl("Ordered"));
    const a1 = firstRound.find((m) => m.Body === "a1");
    // Received once before the restart: the count carries over.
    expect(a1?.Attributes?.ApproximateReceiveCount).toBe("2");
    for (const m of firstRound) {
      await c2.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: two.queueUrl("Ordered"),
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    expect(await drainFifo(c2, two.queueUrl("Ordered"))).toEqual({ a: ["a1", "a2", "a3"], b: ["b1", "b2"] });
    // New messages get sequence numbers after the restored ones.
    const next = await c2.send(
      new SendMessageCommand({
        QueueUrl: two.queueUrl("Ordered"),
        MessageBody: "a4",
        MessageGroupId: "a",
        MessageDeduplicationId: "a4",
      }),
    );
    expect(BigInt(next.SequenceNumber ?? "0")).toBeGreaterThan(5n);

    const plain = await receiveAll(c2, two.queueUrl("Plain"));
    expect(plain.map((m) => m.Body).sort()).toEqual(["taken", "with attributes"]);
    const withAttrs = plain.find((m) => m.Body === "with attributes");
    expect(withAttrs?.MessageAttributes?.kind?.StringValue).toBe("senml");
    expect([...(withAttrs?.MessageAttributes?.blob?.BinaryValue ?? [])]).toEqual([1, 2, 3]);
  });

  it("starts empty without a snapshot", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "relais-sqs-"));
    dirs.push(dataDir);
    const s = await startSqs({ port: await freePort(), dataDir });
    running.push(s);
    await s.ensureQueues([{ name: "Plain", fifo: false, visibilityTimeoutSeconds: 1 }]);
    const c = localSqsClient(s.endpoint);
    clients.push(c);
    expect(await count(c, s.queueUrl("Plain"))).toEqual({ visible: 0, inflight: 0 });
  });
});
