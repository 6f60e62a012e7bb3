// Lambda's SQS event source mapping, for the local runtime: long-poll a queue, gather a batch,
// invoke the handler with a real SQSEvent and Context, then delete what the handler says succeeded.
// Redrive to the dead-letter queue is SQS's job (the queue's RedrivePolicy), not the poller's.

import { randomUUID } from "node:crypto";
import {
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSMessageAttribute, SQSRecord } from "aws-lambda";

// biome-ignore lint/suspicious/noConfusingVoidType: the same return type as aws-lambda's SQSHandler, so `async () => {}` fits.
export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface QueuePollerOptions {
  client: SQSClient;
  queueUrl: string;
  queueArn: string;
  fifo: boolean;
  /** Records per invocation: 1-10000, at most 10 on FIFO queues, above 10 only with a batching window. */
  batchSize: number;
  /** Lambda's MaximumBatchingWindowInSeconds (0-300): how long to keep gathering once a message arrived. Ignored on FIFO queues, as Lambda does. */
  batchingWindowSeconds: number;
  handler: SqsBatchHandler;
  functionName: string;
  region?: string;
  onError?: (err: unknown) => void;
  /** Concurrent poll loops (and so concurrent invocations) on this queue; default 1. */
  concurrency?: number;
  /** The function's timeout: an invocation running longer counts as failed (nothing deleted). Default 30. */
  timeoutSeconds?: number;
  memoryMB?: number;
  /** Long-poll length of an idle receive (0-20, default 20). stop() aborts a pending poll. */
  pollWaitSeconds?: number;
}

export interface QueuePoller {
  /** Stops polling and waits for in-flight invocations; their messages not deleted stay on the queue. */
  stop(): Promise<void>;
}

const ACCOUNT_ID = "000000000000";
const MAX_RECEIVE = 10;
const BACKOFF_MIN_MS = 100;
const BACKOFF_MAX_MS = 5_000;

/** SDK message attribute to the shape Lambda puts in an SQS record (binary as base64). */
function lambdaAttribute(v: MessageAttributeValue): SQSMessageAttribute {
  const attr: SQSMessageAttribute = {
    stringListValues: (v.StringListValues ?? []).slice(),
    binaryListValues: (v.BinaryListValues ?? []).map((b) => Buffer.from(b).toString("base64")),
    dataType: v.DataType ?? "String",
  };
  if (v.StringValue !== undefined) attr.stringValue = v.StringValue;
  if (v.BinaryValue !== undefined) attr.binaryValue = Buffer.from(v.BinaryValue).toString("base64");
  return attr;
}

export function toSqsRecord(m: Message, queueArn: string, region: string): SQSRecord {
  if (!m.MessageId || !m.ReceiptHandle || m.Body === undefined) {
    throw new Error("ReceiveMessage returned a message without id, receipt handle or body");
  }
  const a = m.Attributes ?? {};
  const attributes: SQSRecord["attributes"] = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? "1",
    SentTimestamp: a.SentTimestamp ?? String(Date.now()),
    SenderId: a.SenderId ?? ACCOUNT_ID,
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
  };
  for (const k of ["SequenceNumber", "MessageGroupId", "MessageDeduplicationId", "AWSTraceHeader"] as const) {
    const v = a[k];
    if (v !== undefined) attributes[k] = v;
  }
  const record: SQSRecord = {
    messageId: m.MessageId,
    receiptHandle: m.ReceiptHandle,
    body: m.Body,
    attributes,
    messageAttributes: Object.fromEntries(
      Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, lambdaAttribute(v)]),
    ),
    md5OfBody: m.MD5OfBody ?? "",
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
  if (m.MD5OfMessageAttributes) record.md5OfMessageAttributes = m.MD5OfMessageAttributes;
  return record;
}

/**
 * Which records of a batch stay on the queue after the handler returned `result`, by Lambda's
 * rules for ReportBatchItemFailures: nothing returned or no failures listed means all succeeded; an
 * identifier that is empty or not in the batch fails the whole batch; on FIFO queues a failure
 * also keeps every later record of the same message group, so the group's order holds.
 */
export function recordsToKeep(
  records: readonly SQSRecord[],
  /** Whatever the handler resolved with: checked here, as Lambda checks it. */
  result: unknown,
  fifo: boolean,
): Set<string> {
  const failures = (result as Partial<SQSBatchResponse> | null | undefined)?.batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return new Set();
  const ids = new Set(records.map((r) => r.messageId));
  const failed = new Set<string>();
  for (const f of failures) {
    const id = (f as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || !ids.has(id)) return ids;
    failed.add(id);
  }
  if (!fifo) return failed;
  const blockedGroups = new Set<string>();
  for (const r of records) {
    const group = r.attributes.MessageGroupId ?? "";
    if (failed.has(r.messageId)) blockedGroups.add(group);
    else if (blockedGroups.has(group)) failed.add(r.messageId);
  }
  return failed;
}

function lambdaContext(o: QueuePollerOptions, region: string, deadline: number): Context {
  const requestId = randomUUID();
  const day = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: o.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:${ACCOUNT_ID}:function:${o.functionName}`,
    memoryLimitInMB: String(o.memoryMB ?? 512),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${o.functionName}`,
    logStreamName: `${day}/[$LATEST]${requestId.replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

class InvocationTimeout extends Error {
  constructor(functionName: string, seconds: number) {
    super(`${functionName}: task timed out after ${seconds} seconds`);
    this.name = "InvocationTimeout";
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });

/** Rejects what CreateEventSourceMapping would reject, so a bad manifest entry fails locally too. */
function checkMapping(o: QueuePollerOptions): void {
  const bad = (why: string): never => {
    throw new RangeError(`event source mapping for ${o.functionName}: ${why}`);
  };
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1)
    bad(`batchSize ${o.batchSize} must be a positive integer`);
  if (o.fifo && o.batchSize > MAX_RECEIVE)
    bad(`batchSize ${o.batchSize} exceeds 10, the maximum for FIFO queues`);
  if (o.batchSize > 10_000) bad(`batchSize ${o.batchSize} exceeds 10000`);
  if (o.batchingWindowSeconds < 0 || o.batchingWindowSeconds > 300)
    bad("batchingWindowSeconds must be 0-300");
  if (!o.fifo && o.batchSize > MAX_RECEIVE && o.batchingWindowSeconds < 1) {
    bad(`batchSize ${o.batchSize} above 10 needs batchingWindowSeconds of at least 1`);
  }
}

export function startQueuePoller(opts: QueuePollerOptions): QueuePoller {
  const region = opts.region ?? "us-east-1";
  checkMapping(opts);
  const batchSize = opts.batchSize;
  // Lambda ignores the batching window on FIFO queues (it is "not supported" there).
  const windowMs = opts.fifo ? 0 : opts.batchingWindowSeconds * 1000;
  const pollWait = Math.min(20, Math.max(0, opts.pollWaitSeconds ?? 20));
  const timeoutSeconds = opts.timeoutSeconds ?? 30;
  const onError = opts.onError ?? ((err: unknown) => console.error(`[poller ${opts.functionName}]`, err));
  const abort = new AbortController();
  const { signal } = abort;

  const receive = async (max: number, waitSeconds: number): Promise<Message[]> => {
    const out = await opts.client.send(
      new ReceiveMessageCommand({
        QueueUrl: opts.queueUrl,
        MaxNumberOfMessages: Math.min(MAX_RECEIVE, max),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
      { abortSignal: signal },
    );
    return out.Messages ?? [];
  };

  /** Long-polls until a message arrives, then keeps gathering until the batch is full or the window closes. */
  const gather = async (): Promise<Message[]> => {
    const batch = await receive(batchSize, pollWait);
    if (batch.length === 0) return batch;
    const closesAt = Date.now() + windowMs;
    while (batch.length < batchSize && !signal.aborted) {
      const left = closesAt - Date.now();
      if (left <= 0) break;
      try {
        // WaitTimeSeconds is whole seconds: a poll may outlast the window by under a second.
        batch.push(...(await receive(batchSize - batch.length, Math.min(20, Math.ceil(left / 1000)))));
      } catch (err) {
        // What was gathered is already hidden by its receipt: invoke with it rather than drop it.
        if (!signal.aborted) onError(err);
        break;
      }
    }
    return batch;
  };

  const invoke = async (records: SQSRecord[]): Promise<Set<string>> => {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const context = lambdaContext(opts, region, deadline);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const result = await Promise.race([
        opts.handler({ Records: records }, context),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new InvocationTimeout(opts.functionName, timeoutSeconds)),
            deadline - Date.now(),
          );
        }),
      ]);
      return recordsToKeep(records, result, opts.fifo);
    } catch (err) {
      onError(err);
      return new Set(records.map((r) => r.messageId));
    } finally {
      clearTimeout(timer);
    }
  };

  const deleteDone = async (records: SQSRecord[], keep: Set<string>): Promise<void> => {
    const done = records.filter((r) => !keep.has(r.messageId));
    for (let i = 0; i < done.length; i += MAX_RECEIVE) {
      const chunk = done.slice(i, i + MAX_RECEIVE);
      // Not tied to `signal`: a stop must not prevent deleting what was processed.
      const out = await opts.client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: opts.queueUrl,
          Entries: chunk.map((r, j) => ({ Id: String(j), ReceiptHandle: r.receiptHandle })),
        }),
      );
      if (out.Failed && out.Failed.length > 0) {
        onError(
          new Error(
            `${opts.functionName}: could not delete ${out.Failed.length} message(s): ${out.Failed.map((f) => f.Message ?? f.Code).join("; ")}`,
          ),
        );
      }
    }
  };

  const loop = async (): Promise<void> => {
    let backoff = 0;
    while (!signal.aborted) {
      let messages: Message[];
      try {
        messages = await gather();
        backoff = 0;
      } catch (err) {
        if (signal.aborted) break;
        onError(err);
        backoff = Math.min(BACKOFF_MAX_MS, backoff === 0 ? BACKOFF_MIN_MS : backoff * 2);
        await sleep(backoff, signal);
        continue;
      }
      // Messages received while stopping are still invoked: their receipt has already hidden them.
      if (messages.length === 0) continue;
      try {
        const records = messages.map((m) => toSqsRecord(m, opts.queueArn, region));
        const keep = await invoke(records);
        await deleteDone(records, keep);
      } catch (err) {
        onError(err);
        await sleep(BACKOFF_MIN_MS, signal);
      }
    }
  };

  const loops = Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, () => loop());
  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        abort.abort();
        await Promise.allSettled(loops);
      })();
      return stopping;
    },
  };
}

/**
 * Moves every message of a dead-letter queue back to its source queue (fauxqs 1.9 has no
 * StartMessageMoveTask). Each message is sent before it is deleted, so a failure duplicates
 * rather than loses. FIFO messages keep their group and deduplication ids. Returns how many moved.
 */
export async function redriveDeadLetters(
  client: SQSClient,
  dlqUrl: string,
  targetUrl: string,
): Promise<number> {
  let moved = 0;
  for (;;) {
    const out = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: dlqUrl,
        MaxNumberOfMessages: MAX_RECEIVE,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ["MessageGroupId", "MessageDeduplicationId"],
        MessageAttributeNames: ["All"],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return moved;
    const entries: SendMessageBatchRequestEntry[] = messages.map((m, i) => ({
      Id: String(i),
      MessageBody: m.Body ?? "",
      MessageAttributes: m.MessageAttributes,
      MessageGroupId: m.Attributes?.MessageGroupId,
      // A fresh id: the original one may still be inside the target's deduplication window.
      MessageDeduplicationId: m.Attributes?.MessageGroupId ? randomUUID() : undefined,
    }));
    const sent = await client.send(new SendMessageBatchCommand({ QueueUrl: targetUrl, Entries: entries }));
    if (sent.Failed && sent.Failed.length > 0) {
      throw new Error(
        `redrive: ${sent.Failed.length} message(s) not sent: ${sent.Failed.map((f) => f.Message ?? f.Code).join("; ")}`,
      );
    }
    const del = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: dlqUrl,
        Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? "" })),
      }),
    );
    if (del.Failed && del.Failed.length > 0)
      throw new Error(`redrive: ${del.Failed.length} message(s) not deleted`);
    moved += messages.length;
  }
}
