import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { queryAll } from "../storage/query";
import { failure, type WebhookResult } from "./errors";
import { sendJob, type WebhookJob } from "./jobs";
import { deliveryKey, deliveryLogPk, deliveryLogSk, endpointKey, parkedPk, parkedSk } from "./keys";
import type { DeliveryOutput, DeliveryPage, DeliveryStatus, PageQuery } from "./schemas";
import { pageQuery } from "./schemas";

// Delivery records: one per (endpoint, publication), the delivery log and the state machine of the
// retries in one item. Every transition is a conditional write, so duplicate or stale queue messages
// (SQS standard queues deliver at least once) cannot make a second attempt or undo an outcome:
//   pending --claim--> attempt in flight (lease) --> succeeded | pending (retry later) | parked
//   pending --endpoint gone/disabled/payload unusable--> failed
//   failed | parked --redeliver--> pending (attempt budget reset, generation + 1)
// A succeeded delivery is final: nothing sends it again.

const table = (): string => tableName("Directory");
type TransactItem = NonNullable<TransactWriteCommandInput["TransactItems"]>[number];
/** An update as both UpdateCommand and a transaction take it. */
type Update = NonNullable<TransactItem["Update"]>;
/** The delivery log is kept this long after a delivery's last change (TTL). */
export const LOG_DAYS = 30;
const expiry = (now: number) => Math.floor(now / 1000) + LOG_DAYS * 24 * 3600;

export interface DeliveryRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly endpointId: string;
  readonly service: string;
  readonly stream: string;
  readonly itemId: string;
  readonly publisher: string;
  readonly status: DeliveryStatus;
  /** Attempts made (or in flight) since creation or the last redeliver. */
  readonly attempts: number;
  /** Bumped by redeliver: messages of an earlier generation are stale. */
  readonly generation: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly firstAttemptAt?: number;
  readonly lastAttemptAt?: number;
  readonly nextAttemptAt?: number;
  readonly succeededAt?: number;
  readonly lastError?: string;
  readonly lastStatusCode?: number;
  readonly lastLatencyMs?: number;
  /** Held while an attempt is in flight; an expired lease is an attempt whose runner died. */
  readonly leaseId?: string;
  readonly leaseUntil?: number;
  readonly parkedSk?: string;
}

export interface NewDelivery {
  readonly tenantId: string;
  readonly id: string;
  readonly endpointId: string;
  readonly service: string;
  readonly stream: string;
  readonly itemId: string;
  readonly publisher: string;
  readonly body: string;
}

/** Creates the delivery unless it exists; returns the record as it is now, and whether it was new. */
export async function createDelivery(
  d: NewDelivery,
  initial: { status: "pending" } | { status: "failed"; lastError: string } = { status: "pending" },
  now: number = Date.now(),
): Promise<{ created: boolean; record: DeliveryRecord }> {
  const record: DeliveryRecord & { body: string } = {
    ...d,
    ...initial,
    attempts: 0,
    generation: 1,
    createdAt: now,
    updatedAt: now,
    ...(initial.status === "pending" ? { nextAttemptAt: now } : {}),
  };
  try {
    await documents().send(
      new PutCommand({
        TableName: table(),
        Item: {
          ...deliveryKey(d.tenantId, d.id),
          gsi1pk: deliveryLogPk(d.tenantId, d.endpointId),
          gsi1sk: deliveryLogSk(now, d.id),
          kind: "webhook-delivery",
          ...record,
          expiresAt: expiry(now),
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return { created: true, record };
  } catch (err) {
    if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
    const existing = await getDelivery(d.tenantId, d.id);
    if (!existing) throw new Error(`delivery ${d.id} exists and vanished (TTL?)`);
    return { created: false, record: existing.record };
  }
}

/** The record and its body, strongly consistent. */
export async function getDelivery(
  tenantId: string,
  deliveryId: string,
): Promise<{ record: DeliveryRecord; body: string } | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: deliveryKey(tenantId, deliveryId), ConsistentRead: true }),
  );
  return out.Item ? { record: fromItem(out.Item), body: String(out.Item.body ?? "") } : undefined;
}

/**
 * Takes attempt number `attempt` of the delivery for this runner: the next one when nothing is in
 * flight, or (after a lease lapsed: its runner died) the one in flight or the one after it. False when
 * someone else holds it or it was made already.
 */
export async function claimAttempt(
  rec: DeliveryRecord,
  attempt: number,
  lease: { id: string; until: number },
  now: number = Date.now(),
): Promise<boolean> {
  try {
    await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: deliveryKey(rec.tenantId, rec.id),
        UpdateExpression:
          "SET attempts = :attempt, leaseId = :lease, leaseUntil = :until, lastAttemptAt = :now, firstAttemptAt = if_not_exists(firstAttemptAt, :now), updatedAt = :now, expiresAt = :exp",
        ConditionExpression:
          "generation = :g AND #status = :pending AND ((attempts = :prev AND (attribute_not_exists(leaseId) OR leaseUntil < :now)) OR (attempts = :attempt AND leaseUntil < :now))",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":attempt": attempt,
          ":prev": attempt - 1,
          ":lease": lease.id,
          ":until": lease.until,
          ":now": now,
          ":exp": expiry(now),
          ":g": rec.generation,
          ":pending": "pending",
        },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}

export interface AttemptOutcome {
  readonly status?: number;
  readonly error?: string;
  readonly latencyMs: number;
}

/**
 * Records how the attempt held under `leaseId` ended. "retry" keeps it pending until nextAttemptAt;
 * "parked" also files it in the dead-letter store and counts it on the endpoint. False when the lease
 * was lost meanwhile (the attempt outlived it and was taken over): the new holder records its own.
 */
export async function finishAttempt(
  rec: DeliveryRecord,
  leaseId: string,
  outcome: AttemptOutcome,
  next:
    | { status: "succeeded" }
    | { status: "retry"; nextAttemptAt: number }
    | { status: "parked"; reason: string },
  now: number = Date.now(),
): Promise<boolean> {
  const sets = ["updatedAt = :now", "expiresAt = :exp", "lastLatencyMs = :latency"];
  const removes = ["leaseId", "leaseUntil"];
  const values: Record<string, unknown> = {
    ":now": now,
    ":exp": expiry(now),
    ":latency": outcome.latencyMs,
    ":lease": leaseId,
  };
  if (outcome.status === undefined) removes.push("lastStatusCode");
  else {
    sets.push("lastStatusCode = :code");
    values[":code"] = outcome.status;
  }
  if (next.status === "succeeded") {
    sets.push("#status = :succeeded", "succeededAt = :now");
    values[":succeeded"] = "succeeded";
    removes.push("lastError", "nextAttemptAt");
  } else {
    sets.push("lastError = :error");
    values[":error"] = next.status === "parked" ? `${outcome.error}; gave up: ${next.reason}` : outcome.error;
  }
  if (next.status === "retry") {
    sets.push("nextAttemptAt = :next");
    values[":next"] = next.nextAttemptAt;
  }
  const parked = next.status === "parked" ? parkedSk(now, rec.id) : undefined;
  if (parked) {
    sets.push("#status = :parked", "parkedSk = :parkedSk");
    values[":parked"] = "parked";
    values[":parkedSk"] = parked;
    removes.push("nextAttemptAt");
  }
  const update: Update = {
    TableName: table(),
    Key: deliveryKey(rec.tenantId, rec.id),
    UpdateExpression: `SET ${sets.join(", ")} REMOVE ${removes.join(", ")}`,
    ConditionExpression: "leaseId = :lease",
    ExpressionAttributeNames: sets.some((s) => s.startsWith("#status")) ? { "#status": "status" } : undefined,
    ExpressionAttributeValues: values,
  };
  try {
    if (!parked) {
      await documents().send(new UpdateCommand(update));
      return true;
    }
    await park(rec, update, parked, String(values[":error"]), now);
    return true;
  } catch (err) {
    const name = (err as Error).name;
    if (name === "ConditionalCheckFailedException") return false;
    if (name === "TransactionCanceledException" && cancelledAt(err, 0)) return false;
    throw err;
  }
}

/** The record's update, its dead-letter entry and the endpoint's failure count, all or nothing. */
async function park(
  rec: DeliveryRecord,
  update: Update,
  sk: string,
  lastError: string,
  now: number,
): Promise<void> {
  const entry: TransactItem = {
    Put: {
      TableName: table(),
      Item: {
        pk: parkedPk(rec.tenantId),
        sk,
        kind: "webhook-parked",
        deliveryId: rec.id,
        endpointId: rec.endpointId,
        stream: rec.stream,
        itemId: rec.itemId,
        lastError,
        parkedAt: now,
        expiresAt: expiry(now),
      },
    },
  };
  const count: TransactItem = {
    Update: {
      TableName: table(),
      Key: endpointKey(rec.tenantId, rec.endpointId),
      UpdateExpression: "ADD failedDeliveries :one",
      // A deleted endpoint is not brought back as a counter-only item.
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":one": 1 },
    },
  };
  const send = (withCount: boolean) =>
    documents().send(
      new TransactWriteCommand({
        TransactItems: [{ Update: update }, entry, ...(withCount ? [count] : [])],
      }),
    );
  try {
    await send(true);
  } catch (err) {
    if (
      (err as Error).name === "TransactionCanceledException" &&
      cancelledAt(err, 2) &&
      !cancelledAt(err, 0)
    ) {
      await send(false);
      return;
    }
    throw err;
  }
}

function cancelledAt(err: unknown, index: number): boolean {
  const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons[index]?.Code === "ConditionalCheckFailed";
}

/** Ends a pending delivery without an attempt (endpoint gone or disabled): final until redelivered. */
export async function failDelivery(
  rec: DeliveryRecord,
  reason: string,
  now: number = Date.now(),
): Promise<void> {
  try {
    await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: deliveryKey(rec.tenantId, rec.id),
        UpdateExpression:
          "SET #status = :failed, lastError = :reason, updatedAt = :now, expiresAt = :exp REMOVE nextAttemptAt",
        ConditionExpression: "generation = :g AND #status = :pending AND attribute_not_exists(leaseId)",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":failed": "failed",
          ":reason": reason,
          ":now": now,
          ":exp": expiry(now),
          ":g": rec.generation,
          ":pending": "pending",
        },
      }),
    );
  } catch (err) {
    if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
  }
}

/** The endpoint's deliveries, newest first (index read: one created a moment ago may be missing). */
export async function listDeliveries(
  tenantId: string,
  endpointId: string,
  query: PageQuery = {},
): Promise<WebhookResult<DeliveryPage>> {
  const q = pageQuery.safeParse(query);
  if (!q.success)
    return failure(
      "invalid-input",
      q.error.issues[0]?.message ?? "bad page query",
      String(q.error.issues[0]?.path[0] ?? ""),
    );
  // An endpoint of another tenant (or none) is not found, rather than an empty log.
  const endpoint = await documents().send(
    new GetCommand({
      TableName: table(),
      Key: endpointKey(tenantId, endpointId),
      ProjectionExpression: "pk",
    }),
  );
  if (!endpoint.Item) return failure("not-found", `no webhook endpoint ${endpointId} in this tenant`);
  let startKey: Record<string, unknown> | undefined;
  if (q.data.cursor !== undefined) {
    startKey = decodeCursor(q.data.cursor, deliveryLogPk(tenantId, endpointId));
    if (!startKey) return failure("invalid-input", "the cursor is not one this list returned", "cursor");
  }
  const out = await documents().send(
    new QueryCommand({
      TableName: table(),
      IndexName: "gsi1",
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": deliveryLogPk(tenantId, endpointId) },
      ScanIndexForward: false,
      Limit: q.data.limit,
      ExclusiveStartKey: startKey,
    }),
  );
  const deliveries = (out.Items ?? []).map((item) => toOutput(fromItem(item)));
  const cursor = out.LastEvaluatedKey ? encodeCursor(out.LastEvaluatedKey) : undefined;
  return { ok: true, value: cursor ? { deliveries, cursor } : { deliveries } };
}

export async function getDeliveryOutput(
  tenantId: string,
  deliveryId: string,
): Promise<WebhookResult<DeliveryOutput>> {
  const found = await getDelivery(tenantId, deliveryId);
  return found
    ? { ok: true, value: toOutput(found.record) }
    : failure("not-found", `no delivery ${deliveryId}`);
}

export interface ParkedDelivery {
  readonly deliveryId: string;
  readonly endpointId: string;
  readonly stream: string;
  readonly itemId: string;
  readonly lastError: string;
  readonly parkedAt: string;
}

/** The dead-letter store of the tenant, newest first. */
export async function listParked(
  tenantId: string,
  query: PageQuery = {},
): Promise<WebhookResult<{ parked: ParkedDelivery[]; cursor?: string }>> {
  const q = pageQuery.safeParse(query);
  if (!q.success) return failure("invalid-input", q.error.issues[0]?.message ?? "bad page query");
  let startKey: Record<string, unknown> | undefined;
  if (q.data.cursor !== undefined) {
    startKey = decodeCursor(q.data.cursor, parkedPk(tenantId));
    if (!startKey) return failure("invalid-input", "the cursor is not one this list returned", "cursor");
  }
  const out = await documents().send(
    new QueryCommand({
      TableName: table(),
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": parkedPk(tenantId) },
      ScanIndexForward: false,
      Limit: q.data.limit,
      ExclusiveStartKey: startKey,
    }),
  );
  const parked = (out.Items ?? []).map((item) => ({
    deliveryId: String(item.deliveryId),
    endpointId: String(item.endpointId),
    stream: String(item.stream),
    itemId: String(item.itemId),
    lastError: String(item.lastError),
    parkedAt: new Date(Number(item.parkedAt)).toISOString(),
  }));
  const cursor = out.LastEvaluatedKey ? encodeCursor(out.LastEvaluatedKey) : undefined;
  return { ok: true, value: cursor ? { parked, cursor } : { parked } };
}

/** How long a redelivery's first message waits: long enough to come after the write that makes it valid. */
const REDELIVER_DELAY_SECONDS = 1;

/**
 * Puts a failed or parked delivery back in line with a fresh attempt budget. `enqueue` sends the first
 * job of the new generation, delayed past this write; if the write then loses a race, that job finds
 * a generation it does not match and is dropped.
 */
export async function redeliver(
  tenantId: string,
  deliveryId: string,
  enqueue: (job: WebhookJob) => Promise<void> = (job) => sendJob(job, REDELIVER_DELAY_SECONDS),
  now: number = Date.now(),
): Promise<WebhookResult<DeliveryOutput>> {
  const found = await getDelivery(tenantId, deliveryId);
  if (!found) return failure("not-found", `no delivery ${deliveryId}`);
  const rec = found.record;
  if (rec.status !== "failed" && rec.status !== "parked") {
    return failure("not-redeliverable", `delivery ${deliveryId} is ${rec.status}`);
  }
  // Its body was never kept (too large) or was erased with its stream: there is nothing to send.
  if (found.body === "") return failure("not-redeliverable", `delivery ${deliveryId} has no body to send`);
  const generation = rec.generation + 1;
  await enqueue({ tenantId, deliveryId, generation, attempt: 1 });
  try {
    const out = await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: deliveryKey(tenantId, deliveryId),
        UpdateExpression:
          "SET #status = :pending, attempts = :zero, generation = :g, nextAttemptAt = :now, updatedAt = :now, expiresAt = :exp REMOVE firstAttemptAt, parkedSk, succeededAt",
        ConditionExpression: "generation = :was AND #status = :status",
        ExpressionAttributeNames: { "#status": "status" },
        ExpressionAttributeValues: {
          ":pending": "pending",
          ":zero": 0,
          ":g": generation,
          ":now": now,
          ":exp": expiry(now),
          ":was": rec.generation,
          ":status": rec.status,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    if (rec.parkedSk) {
      await documents().send(
        new DeleteCommand({ TableName: table(), Key: { pk: parkedPk(tenantId), sk: rec.parkedSk } }),
      );
    }
    return { ok: true, value: toOutput(fromItem(out.Attributes ?? {})) };
  } catch (err) {
    if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
    return failure("not-redeliverable", `delivery ${deliveryId} changed meanwhile; look at it again`);
  }
}

// ---- helpers

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

/** The key a cursor holds, if it is one of this partition's (a cursor cannot reach another tenant). */
function decodeCursor(cursor: string, partition: string): Record<string, unknown> | undefined {
  try {
    const key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Record<string, unknown>;
    if (typeof key !== "object" || key === null) return undefined;
    if (key.gsi1pk !== undefined ? key.gsi1pk !== partition : key.pk !== partition) return undefined;
    for (const v of Object.values(key)) if (typeof v !== "string") return undefined;
    return key;
  } catch {
    return undefined;
  }
}

const num = (v: unknown): number | undefined => (typeof v === "number" ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString();

function fromItem(item: Record<string, unknown>): DeliveryRecord {
  return {
    tenantId: String(item.tenantId),
    id: String(item.id),
    endpointId: String(item.endpointId),
    service: String(item.service),
    stream: String(item.stream),
    itemId: String(item.itemId),
    publisher: String(item.publisher ?? ""),
    status: String(item.status) as DeliveryStatus,
    attempts: Number(item.attempts ?? 0),
    generation: Number(item.generation ?? 1),
    createdAt: Number(item.createdAt),
    updatedAt: Number(item.updatedAt),
    firstAttemptAt: num(item.firstAttemptAt),
    lastAttemptAt: num(item.lastAttemptAt),
    nextAttemptAt: num(item.nextAttemptAt),
    succeededAt: num(item.succeededAt),
    lastError: str(item.lastError),
    lastStatusCode: num(item.lastStatusCode),
    lastLatencyMs: num(item.lastLatencyMs),
    leaseId: str(item.leaseId),
    leaseUntil: num(item.leaseUntil),
    parkedSk: str(item.parkedSk),
  };
}

function toOutput(r: DeliveryRecord): DeliveryOutput {
  const out: DeliveryOutput = {
    id: r.id,
    endpointId: r.endpointId,
    stream: r.stream,
    itemId: r.itemId,
    status: r.status,
    attempts: r.attempts,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
  const optional = {
    lastError: r.lastError,
    lastStatusCode: r.lastStatusCode,
    lastLatencyMs: r.lastLatencyMs,
    lastAttemptAt: iso(r.lastAttemptAt),
    nextAttemptAt: r.status === "pending" ? iso(r.nextAttemptAt) : undefined,
    succeededAt: iso(r.succeededAt),
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) Object.assign(out, { [k]: v });
  return out;
}

/**
 * A deleted stream's data is erased from its deliveries too: every delivery of the stream's items
 * loses its body (the SenML it would send), and one not yet succeeded ends as failed, so that no
 * retry or redelivery sends what was erased. Returns how many deliveries were emptied.
 */
export async function forgetStream(
  tenantId: string,
  endpointIds: readonly string[],
  stream: string,
): Promise<number> {
  let emptied = 0;
  for (const endpointId of endpointIds) {
    for await (const item of queryAll({
      TableName: table(),
      IndexName: "gsi1",
      KeyConditionExpression: "gsi1pk = :pk",
      ExpressionAttributeValues: { ":pk": deliveryLogPk(tenantId, endpointId) },
    })) {
      const rec = fromItem(item);
      if (rec.stream !== stream) continue;
      const open = rec.status !== "succeeded";
      await documents().send(
        new UpdateCommand({
          TableName: table(),
          Key: deliveryKey(tenantId, rec.id),
          UpdateExpression: open
            ? "SET body = :empty, #s = :failed, lastError = :why, updatedAt = :now"
            : "SET body = :empty, updatedAt = :now",
          ...(open ? { ExpressionAttributeNames: { "#s": "status" } } : {}),
          ExpressionAttributeValues: {
            ":empty": "",
            ":now": Date.now(),
            ...(open ? { ":failed": "failed", ":why": "the stream was deleted: its data is erased" } : {}),
          },
        }),
      );
      emptied++;
    }
  }
  return emptied;
}
