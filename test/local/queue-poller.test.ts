import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { QueueDef } from "../../infra/manifest";
import {
  type QueuePoller,
  type QueuePollerOptions,
  recordsToKeep,
  redriveDeadLetters,
  startQueuePoller,
} from "../../local/queue-poller";
import { localSqsClient, type SqsEmulator, startSqs } from "../../local/sqs";
import { freePort } from "../support/ports";

const defs: QueueDef[] = [
  { name: "Batch", fifo: false, visibilityTimeoutSeconds: 30 },
  { name: "Big", fifo: false, visibilityTimeoutSeconds: 30 },
  { name: "RetryDlq", fifo: false, visibilityTimeoutSeconds: 30 },
  {
    name: "Retry",
    fifo: false,
    visibilityTimeoutSeconds: 1,
    deadLetter: { queue: "RetryDlq", maxReceiveCount: 3 },
  },
  { name: "Throws", fifo: false, visibilityTimeoutSeconds: 1 },
  { name: "Groups", fifo: true, visibilityTimeoutSeconds: 1 },
  { name: "Slow", fifo: false, visibilityTimeoutSeconds: 30 },
  { name: "Parked", fifo: false, visibilityTimeoutSeconds: 30 },
  { name: "Target", fifo: false, visibilityTimeoutSeconds: 30 },
  { name: "Parallel", fifo: false, visibilityTimeoutSeconds: 30 },
  { name: "FifoParked", fifo: true, visibilityTimeoutSeconds: 30 },
  { name: "FifoTarget", fifo: true, visibilityTimeoutSeconds: 30 },
];

/** Resolves when `check` holds, polling every 25 ms; rejects after `ms`. */
async function until(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

const record = (id: string, group?: string): SQSRecord => ({
  messageId: id,
  receiptHandle: `rh-${id}`,
  body: id,
  attributes: {
    ApproximateReceiveCount: "1",
    SentTimestamp: "0",
    SenderId: "000000000000",
    ApproximateFirstReceiveTimestamp: "0",
    ...(group ? { MessageGroupId: group } : {}),
  },
  messageAttributes: {},
  md5OfBody: "",
  eventSource: "aws:sqs",
  eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:q",
  awsRegion: "us-east-1",
});

describe("recordsToKeep (Lambda's partial batch response rules)", () => {
  const batch = [
    record("a1", "a"),
    record("b1", "b"),
    record("a2", "a"),
    record("b2", "b"),
    record("a3", "a"),
  ];
  const fail = (...ids: string[]): SQSBatchResponse => ({
    batchItemFailures: ids.map((itemIdentifier) => ({ itemIdentifier })),
  });

  it("deletes everything when the handler returns nothing or no failures", () => {
    expect(recordsToKeep(batch, undefined, false).size).toBe(0);
    expect(recordsToKeep(batch, fail(), true).size).toBe(0);
    expect(recordsToKeep(batch, {} as SQSBatchResponse, false).size).toBe(0);
  });
  it("keeps only the failed records on a standard queue", () => {
    expect([...recordsToKeep(batch, fail("b1"), false)]).toEqual(["b1"]);
  });
  it("on FIFO keeps the failed record and every later record of its group", () => {
    expect([...recordsToKeep(batch, fail("a2"), true)].sort()).toEqual(["a2", "a3"]);
    expect([...recordsToKeep(batch, fail("b1"), true)].sort()).toEqual(["b1", "b2"]);
  });
  it("fails the whole batch for an unknown or empty identifier", () => {
    expect(recordsToKeep(batch, fail("nope"), false).size).toBe(batch.length);
    expect(recordsToKeep(batch, fail(""), false).size).toBe(batch.length);
  });
});

describe("startQueuePoller configuration", () => {
  it("rejects the mappings Lambda rejects", () => {
    const base = {
      client: localSqsClient("http://127.0.0.1:9"),
      queueUrl: "http://127.0.0.1:9/000000000000/q",
      queueArn: "arn:aws:sqs:us-east-1:000000000000:q",
      handler: async () => {},
      functionName: "F",
    };
    expect(() => startQueuePoller({ ...base, fifo: true, batchSize: 11, batchingWindowSeconds: 0 })).toThrow(
      /FIFO/,
    );
    expect(() => startQueuePoller({ ...base, fifo: false, batchSize: 50, batchingWindowSeconds: 0 })).toThrow(
      /window/i,
    );
    expect(() => startQueuePoller({ ...base, fifo: false, batchSize: 0, batchingWindowSeconds: 0 })).toThrow(
      /positive/,
    );
    base.client.destroy();
  });
});

describe("startQueuePoller against fauxqs", () => {
  let dataDir: string;
  let sqs: SqsEmulator;
  let client: SQSClient;
  const pollers: QueuePoller[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "relais-poller-"));
    sqs = await startSqs({ port: await freePort(), dataDir });
    await sqs.ensureQueues(defs);
    client = localSqsClient(sqs.endpoint);
  });
  afterEach(async () => {
    await Promise.all(pollers.splice(0).map((p) => p.stop()));
  });
  afterAll(async () => {
    client?.destroy();
    await sqs?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const poll = (
    queue: string,
    handler: QueuePollerOptions["handler"],
    more: Partial<QueuePollerOptions> = {},
  ): QueuePoller => {
    const p = startQueuePoller({
      client,
      queueUrl: sqs.queueUrl(queue),
      queueArn: sqs.queueArn(queue),
      fifo: queue === "Groups",
      batchSize: 10,
      batchingWindowSeconds: 0,
      handler,
      functionName: `Test${queue}`,
      onError: () => {},
      ...more,
    });
    pollers.push(p);
    return p;
  };

  const visible = async (queue: string): Promise<{ visible: number; inflight: number }> => {
    const out = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: sqs.queueUrl(queue),
        AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
      }),
    );
    return {
      visible: Number(out.Attributes?.ApproximateNumberOfMessages),
      inflight: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible),
    };
  };

  it("delivers batches of the configured size as a Lambda SQSEvent with a Lambda Context", async () => {
    const url = sqs.queueUrl("Batch");
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: Array.from({ length: 7 }, (_, i) => ({
          Id: `m${i}`,
          MessageBody: `body ${i}`,
          MessageAttributes: {
            kind: { DataType: "String", StringValue: "senml" },
            n: { DataType: "Number", StringValue: String(i) },
            raw: { DataType: "Binary", BinaryValue: new Uint8Array([i, 255]) },
          },
        })),
      }),
    );
    const events: SQSEvent[] = [];
    const contexts: Context[] = [];
    poll(
      "Batch",
      async (event, context) => {
        events.push(event);
        contexts.push(context);
      },
      { batchSize: 5, functionName: "Fanout" },
    );
    await until(() => events.flatMap((e) => e.Records).length === 7);
    expect(events.map((e) => e.Records.length)).toEqual([5, 2]);

    const r = events[0]?.Records[0];
    expect(r).toMatchObject({
      eventSource: "aws:sqs",
      eventSourceARN: sqs.queueArn("Batch"),
      awsRegion: "us-east-1",
      body: expect.stringMatching(/^body \d$/),
      messageId: expect.any(String),
      receiptHandle: expect.any(String),
      md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
      md5OfMessageAttributes: expect.stringMatching(/^[0-9a-f]{32}$/),
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: expect.stringMatching(/^\d{13}$/),
        SenderId: expect.any(String),
        ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d{13}$/),
      },
    });
    const i = Number(r?.body.slice(5));
    expect(r?.messageAttributes).toEqual({
      kind: { stringValue: "senml", stringListValues: [], binaryListValues: [], dataType: "String" },
      n: { stringValue: String(i), stringListValues: [], binaryListValues: [], dataType: "Number" },
      raw: {
        binaryValue: Buffer.from([i, 255]).toString("base64"),
        stringListValues: [],
        binaryListValues: [],
        dataType: "Binary",
      },
    });
    const ctx = contexts[0];
    expect(ctx?.functionName).toBe("Fanout");
    expect(ctx?.invokedFunctionArn).toBe("arn:aws:lambda:us-east-1:000000000000:function:Fanout");
    expect(ctx?.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(contexts[1]?.awsRequestId).not.toBe(ctx?.awsRequestId);
    expect(ctx?.getRemainingTimeInMillis()).toBeGreaterThan(0);
    await until(async () => (await visible("Batch")).inflight === 0);
    expect(await visible("Batch")).toEqual({ visible: 0, inflight: 0 });
  });

  it("gathers more than 10 messages into one batch within the batching window", async () => {
    const url = sqs.queueUrl("Big");
    for (let k = 0; k < 15; k += 5) {
      await client.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: Array.from({ length: 5 }, (_, i) => ({ Id: `m${i}`, MessageBody: `big ${k + i}` })),
        }),
      );
    }
    const sizes: number[] = [];
    poll("Big", async (event) => void sizes.push(event.Records.length), {
      batchSize: 15,
      batchingWindowSeconds: 1,
    });
    await until(() => sizes.reduce((a, b) => a + b, 0) === 15);
    expect(sizes).toEqual([15]);
  });

  it("deletes the successes of a partial failure; the failure comes back, then goes to the DLQ after maxReceiveCount", async () => {
    const url = sqs.queueUrl("Retry");
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: ["ok1", "bad", "ok2"].map((b) => ({ Id: b, MessageBody: b })),
      }),
    );
    const seen: Array<{ body: string; count: string }> = [];
    poll("Retry", async (event) => {
      for (const r of event.Records) seen.push({ body: r.body, count: r.attributes.ApproximateReceiveCount });
      const bad = event.Records.filter((r) => r.body === "bad");
      return { batchItemFailures: bad.map((r) => ({ itemIdentifier: r.messageId })) };
    });
    const dead = await new Promise<string | undefined>((resolve, reject) => {
      const deadline = Date.now() + 10_000;
      const tick = async (): Promise<void> => {
        const out = await client.send(
          new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl("RetryDlq"), WaitTimeSeconds: 1 }),
        );
        if (out.Messages?.[0]) return resolve(out.Messages[0].Body);
        if (Date.now() > deadline) return reject(new Error("nothing reached the DLQ"));
        void tick();
      };
      void tick();
    });
    expect(dead).toBe("bad");
    expect(seen.filter((s) => s.body === "bad").map((s) => s.count)).toEqual(["1", "2", "3"]);
    expect(
      seen
        .filter((s) => s.body !== "bad")
        .map((s) => s.body)
        .sort(),
    ).toEqual(["ok1", "ok2"]);
    expect(await visible("Retry")).toEqual({ visible: 0, inflight: 0 });
  });

  it("retries the whole batch when the handler throws", async () => {
    const url = sqs.queueUrl("Throws");
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: ["x", "y"].map((b) => ({ Id: b, MessageBody: b })),
      }),
    );
    const calls: Array<Array<{ body: string; count: string }>> = [];
    const errors: unknown[] = [];
    poll(
      "Throws",
      async (event) => {
        calls.push(event.Records.map((r) => ({ body: r.body, count: r.attributes.ApproximateReceiveCount })));
        if (calls.length === 1) throw new Error("boom");
      },
      { onError: (e) => errors.push(e) },
    );
    await until(() => calls.flat().length >= 4);
    await until(async () => (await visible("Throws")).inflight === 0);
    expect(calls[0]?.map((x) => x.body).sort()).toEqual(["x", "y"]);
    // The retry may come as one batch or two: SQS makes each message visible again on its own.
    expect(
      calls
        .slice(1)
        .flat()
        .sort((a, b) => a.body.localeCompare(b.body)),
    ).toEqual([
      { body: "x", count: "2" },
      { body: "y", count: "2" },
    ]);
    expect((errors[0] as Error).message).toBe("boom");
    expect(await visible("Throws")).toEqual({ visible: 0, inflight: 0 });
  });

  it("FIFO: a partial failure keeps the group's order", async () => {
    const url = sqs.queueUrl("Groups");
    for (const [g, b] of [
      ["a", "a1"],
      ["b", "b1"],
      ["a", "a2"],
      ["b", "b2"],
      ["a", "a3"],
    ] as const) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: url,
          MessageBody: b,
          MessageGroupId: g,
          MessageDeduplicationId: b,
        }),
      );
    }
    const processed: string[] = [];
    let failedOnce = false;
    poll("Groups", async (event) => {
      const failures: string[] = [];
      for (const r of event.Records) {
        if (r.body === "a2" && !failedOnce) {
          failedOnce = true;
          failures.push(r.messageId);
          continue;
        }
        processed.push(r.body);
        expect(r.attributes.MessageGroupId).toBe(r.body[0]);
        expect(r.attributes.SequenceNumber).toMatch(/^\d+$/);
        expect(r.attributes.MessageDeduplicationId).toBe(r.body);
      }
      return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
    });
    await until(() => processed.length === 5);
    expect(processed.filter((b) => b.startsWith("a"))).toEqual(["a1", "a2", "a3"]);
    expect(processed.filter((b) => b.startsWith("b"))).toEqual(["b1", "b2"]);
    expect(failedOnce).toBe(true);
  });

  it("stop() waits for the running invocation, whose messages are then deleted", async () => {
    await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl("Slow"), MessageBody: "slow" }));
    let started = false;
    let finished = false;
    const p = poll("Slow", async () => {
      started = true;
      await new Promise((r) => setTimeout(r, 300));
      finished = true;
    });
    await until(() => started);
    await p.stop();
    expect(finished).toBe(true);
    expect(await visible("Slow")).toEqual({ visible: 0, inflight: 0 });
  });

  it("runs `concurrency` invocations at once", async () => {
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: sqs.queueUrl("Parallel"),
        Entries: ["p1", "p2"].map((b) => ({ Id: b, MessageBody: b })),
      }),
    );
    let running = 0;
    let peak = 0;
    let done = 0;
    poll(
      "Parallel",
      async () => {
        running++;
        peak = Math.max(peak, running);
        // Each invocation waits for the other to start: only overlapping invocations finish early.
        await until(() => peak === 2, 3_000).catch(() => {});
        running--;
        done++;
      },
      { batchSize: 1, concurrency: 2 },
    );
    await until(() => done === 2);
    expect(peak).toBe(2);
  });

  it("backs off on receive errors instead of spinning", async () => {
    const errors: unknown[] = [];
    const p = startQueuePoller({
      client,
      queueUrl: `${sqs.endpoint}/000000000000/NoSuchQueue`,
      queueArn: "arn:aws:sqs:us-east-1:000000000000:NoSuchQueue",
      fifo: false,
      batchSize: 10,
      batchingWindowSeconds: 0,
      handler: async () => {},
      functionName: "Nothing",
      onError: (e) => errors.push(e),
    });
    pollers.push(p);
    await new Promise((r) => setTimeout(r, 1_000));
    await p.stop();
    // Backoff 100, 200, 400 ms...: a handful of attempts in a second, not hundreds.
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(errors.length).toBeLessThanOrEqual(6);
  });

  it("redriveDeadLetters moves dead letters back to the source queue", async () => {
    const dlq = sqs.queueUrl("Parked");
    await client.send(
      new SendMessageBatchCommand({
        QueueUrl: dlq,
        Entries: ["d1", "d2"].map((b) => ({ Id: b, MessageBody: b })),
      }),
    );
    expect(await redriveDeadLetters(client, dlq, sqs.queueUrl("Target"))).toBe(2);
    expect(await visible("Parked")).toEqual({ visible: 0, inflight: 0 });
    const out = await client.send(
      new ReceiveMessageCommand({ QueueUrl: sqs.queueUrl("Target"), MaxNumberOfMessages: 10 }),
    );
    expect(out.Messages?.map((m) => m.Body).sort()).toEqual(["d1", "d2"]);
  });

  it("redriveDeadLetters keeps FIFO groups and their order", async () => {
    const dlq = sqs.queueUrl("FifoParked");
    for (const [g, b] of [
      ["a", "a1"],
      ["b", "b1"],
      ["a", "a2"],
    ] as const) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: dlq,
          MessageBody: b,
          MessageGroupId: g,
          MessageDeduplicationId: b,
        }),
      );
    }
    expect(await redriveDeadLetters(client, dlq, sqs.queueUrl("FifoTarget"))).toBe(3);
    const got: string[] = [];
    poll(
      "FifoTarget",
      async (event) => {
        for (const r of event.Records) got.push(`${r.attributes.MessageGroupId}:${r.body}`);
      },
      { fifo: true },
    );
    await until(() => got.length === 3);
    expect(got.filter((x) => x.startsWith("a:"))).toEqual(["a:a1", "a:a2"]);
    expect(got).toContain("b:b1");
  });
});
