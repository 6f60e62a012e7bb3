import { randomUUID } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../../aws/clients";
import { tableName } from "../../aws/resources";
import { newSessionState, type PendingFrame, type SessionRecord, type SessionState } from "./state";

// Serialising a connection's frames without trusting invocation order (API Gateway may run two
// $default invocations of one connection at once):
//   - an invocation takes a lease on the session item with one conditional UpdateItem, which also
//     returns the state and takes the frames other invocations handed over meanwhile;
//   - an invocation that finds the lease taken appends its frame to the item's `pending` list, on
//     condition the lease is still held, and returns: the holder processes it;
//   - the holder releases with its new state on condition that `pending` is empty; if a frame
//     arrived, it takes it and goes on.
// Serialised is not yet ordered: the invocation that wins the lease may hold a later frame than one
// still on its way. So the holder first waits until its frames are REORDER_WINDOW_MS old, takes what
// was handed over meanwhile (takePending), and processes all by API Gateway's receipt time. Frames
// received in the same millisecond have no order API Gateway tells; they keep the order their
// invocations reached DynamoDB in.
// Uncontended, a frame costs two DynamoDB writes and one read. See README "Ordering frames".

/** Longer than the frame function's timeout, so a crashed holder's lease lapses and the next frame takes over. */
export const LEASE_MS = 30_000;
/** How long a connection's item lives without activity: API Gateway's 2 h limit, plus resumption time. */
export const SESSION_TTL_SECONDS = 2 * 3600 + 15 * 60;

const table = () => tableName("Sessions");
const nowSeconds = () => Math.floor(Date.now() / 1000);

function isConditionFailure(err: unknown): boolean {
  return (err as Error).name === "ConditionalCheckFailedException";
}

export function toRecord(item: Record<string, unknown>): SessionRecord {
  return {
    connectionId: String(item.connectionId),
    state: item.st ? (JSON.parse(String(item.st)) as SessionState) : newSessionState(),
    bareJid: item.bareJid as string | undefined,
    resource: item.resource as string | undefined,
    available: item.available === true,
    priority: Number(item.priority ?? 0),
    smEnabled: item.smEnabled === true,
    detached: item.detached === true,
    detachedAt: item.detachedAt === undefined ? undefined : Number(item.detachedAt),
    smBase: Number(item.smBase ?? 1),
    smQueue: (item.smQueue as string[] | undefined) ?? [],
    pending: (item.pending as PendingFrame[] | undefined) ?? [],
    connectedAt: Number(item.connectedAt ?? 0),
  };
}

export async function createSession(connectionId: string, connectedAt: number): Promise<void> {
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: {
        connectionId,
        st: JSON.stringify(newSessionState()),
        connectedAt,
        expiresAt: nowSeconds() + SESSION_TTL_SECONDS,
      },
      ConditionExpression: "attribute_not_exists(connectionId)",
    }),
  );
}

export async function getSession(connectionId: string): Promise<SessionRecord | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: { connectionId }, ConsistentRead: true }),
  );
  return out.Item ? toRecord(out.Item) : undefined;
}

export type Lease =
  | { kind: "held"; leaseId: string; record: SessionRecord; frames: PendingFrame[] }
  | { kind: "handed-over" }
  | { kind: "no-session" };

/**
 * Takes the session's lease to process `frame`, or hands the frame to the current holder. With the
 * lease come the frames handed over before it (older than `frame`, so they come first).
 */
export async function acquireOrHandOver(connectionId: string, frame: PendingFrame): Promise<Lease> {
  const leaseId = randomUUID();
  for (let attempt = 0; attempt < 20; attempt++) {
    const now = Date.now();
    try {
      const out = await documents().send(
        new UpdateCommand({
          TableName: table(),
          Key: { connectionId },
          UpdateExpression: "SET leaseId = :me, leaseUntil = :until REMOVE pending",
          ConditionExpression:
            "attribute_exists(connectionId) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)",
          ExpressionAttributeValues: { ":me": leaseId, ":until": now + LEASE_MS, ":now": now },
          ReturnValues: "ALL_OLD",
        }),
      );
      const record = toRecord(out.Attributes ?? {});
      // Frames left by a holder that lost its lease landed before ours: they come first among equals.
      return { kind: "held", leaseId, record, frames: [...record.pending, frame] };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    try {
      await documents().send(
        new UpdateCommand({
          TableName: table(),
          Key: { connectionId },
          UpdateExpression: "SET pending = list_append(if_not_exists(pending, :empty), :f)",
          ConditionExpression: "attribute_exists(connectionId) AND leaseUntil >= :now",
          ExpressionAttributeValues: { ":empty": [], ":f": [frame], ":now": now },
        }),
      );
      return { kind: "handed-over" };
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
    // Neither: the item is gone, or the lease was released between our two writes. Look which.
    const exists = await documents().send(
      new GetCommand({ TableName: table(), Key: { connectionId }, ProjectionExpression: "connectionId" }),
    );
    if (!exists.Item) return { kind: "no-session" };
  }
  throw new Error(`session ${connectionId}: could not take the lease nor hand the frame over`);
}

/**
 * A XEP-0198 <a h/> alone, applied in one conditional write when it acknowledges what an answer to the
 * server's requests usually does, and nobody holds the lease (a holder saves the head of the queue as
 * it read it). The server asks once in every `every` stanzas: an answer acknowledges the `every` since
 * the previous one, or, the first time, all stanzas from the first. False when that guess is wrong or
 * the lease is held: the caller then takes the lease and handles the frame as any other.
 */
export async function acknowledgeAlone(connectionId: string, h: number, every: number): Promise<boolean> {
  const drop = Math.min(h, every);
  if (drop < 1) return false;
  const removes = Array.from({ length: drop }, (_, i) => `smQueue[${i}]`);
  const base = h + 1 - drop;
  // A session's first acknowledgement finds no base yet: it starts at 1 (toRecord).
  const atBase = base === 1 ? "(attribute_not_exists(smBase) OR smBase = :base)" : "smBase = :base";
  try {
    await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: { connectionId },
        UpdateExpression: `REMOVE ${removes.join(", ")} SET smBase = :next`,
        ConditionExpression: `attribute_not_exists(leaseUntil) AND smEnabled = :t AND ${atBase} AND size(smQueue) >= :drop`,
        ExpressionAttributeValues: { ":next": h + 1, ":base": base, ":drop": drop, ":t": true },
      }),
    );
    return true;
  } catch (err) {
    if (isConditionFailure(err)) return false;
    throw err;
  }
}

/**
 * Frames handed over to the lease holder `leaseId` so far, taken off the item; [] when there are none.
 * A consistent read first, so that the common case (nothing handed over) costs a read, not a write.
 */
export async function takePending(connectionId: string, leaseId: string): Promise<PendingFrame[]> {
  const seen = await documents().send(
    new GetCommand({
      TableName: table(),
      Key: { connectionId },
      ConsistentRead: true,
      ProjectionExpression: "leaseId, pending",
    }),
  );
  if (seen.Item?.leaseId !== leaseId || !seen.Item?.pending) return [];
  try {
    const out = await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: { connectionId },
        UpdateExpression: "REMOVE pending",
        ConditionExpression: "leaseId = :me",
        ExpressionAttributeValues: { ":me": leaseId },
        ReturnValues: "ALL_OLD",
      }),
    );
    return toRecord(out.Attributes ?? {}).pending;
  } catch (err) {
    if (isConditionFailure(err)) return [];
    throw err;
  }
}

/** The routing attributes derived from the state, kept top-level for the byJid index and deliveries. */
function routingAttributes(state: SessionState): Record<string, unknown> {
  const bound = state.phase === "bound" && state.user && state.resource;
  return {
    bareJid: bound ? state.user : undefined,
    resource: bound ? state.resource : undefined,
    available: state.available,
    priority: state.priority,
    smEnabled: state.sm !== undefined,
  };
}

/**
 * Writes the new state and releases the lease, unless frames were handed over meanwhile: then they
 * are returned (and taken off the item) for the holder to process before trying again.
 */
export async function releaseOrTakeMore(
  connectionId: string,
  leaseId: string,
  state: SessionState,
  /** Acknowledged stanzas to drop from the head of the XEP-0198 queue, and the new head's number. */
  ack?: { drop: number; base: number },
): Promise<PendingFrame[] | "released" | "lost"> {
  const attrs = routingAttributes(state);
  const sets = ["st = :st", "expiresAt = :exp"];
  const removes = ["leaseId", "leaseUntil"];
  const values: Record<string, unknown> = {
    ":st": JSON.stringify(state),
    ":exp": nowSeconds() + SESSION_TTL_SECONDS,
    ":me": leaseId,
  };
  // Attribute names go through placeholders: "resource" is a DynamoDB reserved word.
  const names: Record<string, string> = {};
  for (const [k, v] of Object.entries(attrs)) {
    names[`#${k}`] = k;
    if (v === undefined) removes.push(`#${k}`);
    else {
      sets.push(`#${k} = :${k}`);
      values[`:${k}`] = v;
    }
  }
  if (ack) {
    for (let i = 0; i < ack.drop; i++) removes.push(`smQueue[${i}]`);
    sets.push("smBase = :base");
    values[":base"] = ack.base;
  }
  try {
    await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: { connectionId },
        UpdateExpression: `SET ${sets.join(", ")} REMOVE ${removes.join(", ")}`,
        ConditionExpression: "leaseId = :me AND attribute_not_exists(pending)",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return "released";
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
  // Frames arrived meanwhile: keep the lease and take them. The acknowledgement is written now, or it
  // would be lost (the next release only carries the acknowledgements of the next frames).
  const takeSets = ["leaseUntil = :until"];
  const takeRemoves = ["pending"];
  const takeValues: Record<string, unknown> = { ":me": leaseId, ":until": Date.now() + LEASE_MS };
  if (ack) {
    for (let i = 0; i < ack.drop; i++) takeRemoves.push(`smQueue[${i}]`);
    takeSets.push("smBase = :base");
    takeValues[":base"] = ack.base;
  }
  try {
    const out = await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: { connectionId },
        UpdateExpression: `SET ${takeSets.join(", ")} REMOVE ${takeRemoves.join(", ")}`,
        ConditionExpression: "leaseId = :me",
        ExpressionAttributeValues: takeValues,
        ReturnValues: "ALL_OLD",
      }),
    );
    return toRecord(out.Attributes ?? {}).pending;
  } catch (err) {
    if (isConditionFailure(err)) return "lost";
    throw err;
  }
}

/**
 * Waits until nobody holds the session's lease (or the item is gone), at most `maxMs`. $disconnect
 * reads the state to decide between detaching and ending the session: read under a holder, it could be
 * older than what the client was already sent (an <enabled/> whose state is not saved yet).
 */
export async function waitForRelease(connectionId: string, maxMs = 10_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const out = await documents().send(
      new GetCommand({
        TableName: table(),
        Key: { connectionId },
        ConsistentRead: true,
        ProjectionExpression: "leaseUntil",
      }),
    );
    const until = out.Item?.leaseUntil;
    if (until === undefined || Number(until) < Date.now() || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Bound sessions of an account, for routing. Detached ones are included: they may be resumed. */
export async function sessionsOf(bareJid: string): Promise<SessionRecord[]> {
  const out = await documents().send(
    new QueryCommand({
      TableName: table(),
      IndexName: "byJid",
      KeyConditionExpression: "bareJid = :j",
      ExpressionAttributeValues: { ":j": bareJid },
    }),
  );
  const now = nowSeconds();
  return (out.Items ?? []).filter((i) => Number(i.expiresAt ?? now + 1) > now).map(toRecord);
}

/**
 * Appends `stanzas` to a XEP-0198 session's queue of unacknowledged stanzas, before they are sent.
 * Entry i of the queue has sequence number smBase + i; only the lease holder removes from the head.
 * Returns false when the session is gone or its queue is full.
 */
export async function enqueueForAck(
  connectionId: string,
  stanzas: readonly string[],
  maxQueued: number,
): Promise<number | false> {
  const out = await append(connectionId, stanzas, maxQueued, false);
  return typeof out === "number" ? out : false;
}

/**
 * Appends to a detached session's queue only while it is still detached: an entry appended so is
 * sent by whoever attaches the session (resumption's replay), one refused with "attached" must be
 * sent by the caller. Either way it is sent once, and never overtakes the replay.
 */
export async function enqueueWhileDetached(
  connectionId: string,
  stanza: string,
  maxQueued: number,
): Promise<"queued" | "attached" | "refused"> {
  const out = await append(connectionId, [stanza], maxQueued, true);
  return typeof out === "number" ? "queued" : out;
}

async function append(
  connectionId: string,
  stanzas: readonly string[],
  maxQueued: number,
  onlyDetached: boolean,
): Promise<number | "attached" | "refused"> {
  try {
    const out = await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: { connectionId },
        UpdateExpression: "SET smQueue = list_append(if_not_exists(smQueue, :empty), :items)",
        // The queue's new length, for the caller's ack request cadence.
        ReturnValues: "UPDATED_NEW",
        ConditionExpression:
          "attribute_exists(connectionId) AND (attribute_not_exists(smQueue) OR size(smQueue) < :max)" +
          (onlyDetached ? " AND detached = :t" : ""),
        ExpressionAttributeValues: {
          ":empty": [],
          ":items": [...stanzas],
          ":max": maxQueued,
          ...(onlyDetached ? { ":t": true } : {}),
        },
      }),
    );
    return Array.isArray(out.Attributes?.smQueue) ? out.Attributes.smQueue.length : stanzas.length;
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
  if (!onlyDetached) return "refused";
  const now = await getSession(connectionId);
  return now && !now.detached && now.smQueue.length < maxQueued ? "attached" : "refused";
}

/** Deletes the session's item and returns it as it was at that instant (undefined if already gone). */
export async function deleteSession(connectionId: string): Promise<SessionRecord | undefined> {
  const out = await documents().send(
    new DeleteCommand({ TableName: table(), Key: { connectionId }, ReturnValues: "ALL_OLD" }),
  );
  return out.Attributes ? toRecord(out.Attributes) : undefined;
}

// A full JID is claimed by one connection at a time, with an item of its own: two connections
// binding the same resource at once cannot both see it free (the byJid index is only written when
// a session saves its state, after the bind).
const claimKey = (fullJid: string) => ({ connectionId: `jid#${fullJid}` });

/** Claims `fullJid` for `connectionId`; returns the connection that held it, if another did. */
export async function claimResource(fullJid: string, connectionId: string): Promise<string | undefined> {
  const item = { ...claimKey(fullJid), owner: connectionId, expiresAt: nowSeconds() + SESSION_TTL_SECONDS };
  const out = await documents().send(
    new PutCommand({ TableName: table(), Item: item, ReturnValues: "ALL_OLD" }),
  );
  const previous = out.Attributes?.owner as string | undefined;
  return previous && previous !== connectionId ? previous : undefined;
}

/** Gives up a claim, unless another connection took it over meanwhile. */
export async function releaseResource(fullJid: string, connectionId: string): Promise<void> {
  try {
    await documents().send(
      new DeleteCommand({
        TableName: table(),
        Key: claimKey(fullJid),
        ConditionExpression: "#o = :me",
        ExpressionAttributeNames: { "#o": "owner" },
        ExpressionAttributeValues: { ":me": connectionId },
      }),
    );
  } catch (err) {
    if (!isConditionFailure(err)) throw err;
  }
}
