import { randomBytes } from "node:crypto";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCommand, PutCommand, TransactWriteCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Element, xml } from "@xmpp/xml";
import { documents, sqs } from "../../aws/clients";
import { queueUrl, tableName } from "../../aws/resources";
import { closeConnection, postFrames } from "../connections";
import { NS_SM, NS_STANZAS } from "../namespaces";
import { streamErrorFrames } from "../stream-errors";
import { removeRoute, routeKey } from "./routes";
import { getSession, SESSION_TTL_SECONDS, toRecord } from "./store";
import { sendNonza, type Turn } from "./turn";

// XEP-0198 stream management. Outbound stanzas are counted where they are sent (store.enqueueForAck);
// this module answers the nonzas and moves a session to a new connection on resumption.

/** Seconds a detached session waits for its client to resume (announced as 'max'), by default. */
export const RESUME_WINDOW_SECONDS = 300;

/**
 * The resumption window: RELAIS_SM_RESUME_SECONDS when set (tests shorten it), else 300 s. Read at each
 * use, not at import, so that one process can run hubs with different windows. SQS delays at most 900 s.
 */
export function resumeWindowSeconds(): number {
  const raw = Number(process.env.RELAIS_SM_RESUME_SECONDS);
  return Number.isInteger(raw) && raw > 0 ? Math.min(raw, 900) : RESUME_WINDOW_SECONDS;
}

const pointerKey = (smId: string) => ({ connectionId: `sm#${smId}` });

export async function enable(turn: Turn, el: Element): Promise<void> {
  const state = turn.state;
  if (state.phase !== "bound" || state.sm) {
    sendNonza(turn, failed("unexpected-request"));
    return;
  }
  const resumable = el.attrs.resume === "true" || el.attrs.resume === "1";
  const id = randomBytes(18).toString("base64url");
  state.sm = { id, inbound: 0, resumable };
  if (resumable) {
    await documents().send(
      new PutCommand({
        TableName: tableName("Sessions"),
        Item: { ...pointerKey(id), target: turn.connectionId, expiresAt: nowSeconds() + SESSION_TTL_SECONDS },
      }),
    );
  }
  // A fresh queue: stanzas sent before <enable/> are not counted (XEP-0198 4).
  turn.ack = { drop: turn.record.smQueue.length, base: 1 };
  const enabled = xml("enabled", { xmlns: NS_SM, id });
  if (resumable) {
    enabled.attrs.resume = "true";
    enabled.attrs.max = String(resumeWindowSeconds());
  }
  sendNonza(turn, enabled);
}

export function request(turn: Turn): void {
  if (!turn.state.sm) return;
  sendNonza(turn, xml("a", { xmlns: NS_SM, h: String(turn.state.sm.inbound) }));
}

/** The client acknowledged `h` stanzas in all: drop those from the queue. */
export async function acknowledge(turn: Turn, el: Element): Promise<void> {
  if (!turn.state.sm) return;
  const h = Number(el.attrs.h);
  const { smBase, smQueue } = turn.record;
  let sent = smBase - 1 + smQueue.length;
  if (!Number.isSafeInteger(h) || h < 0) return;
  // The record was read when the lease was taken: stanzas counted since (this invocation's own, and
  // deliveries from other sessions) are only in the item. Base plus length is the count of all sent.
  if (h > sent) {
    const fresh = await getSession(turn.connectionId);
    if (fresh) sent = fresh.smBase - 1 + fresh.smQueue.length;
  }
  if (h > sent) {
    // XEP-0198 5: an acknowledgement of more than was sent is a stream error.
    const app = xml("handled-count-too-high", { xmlns: NS_SM, h: String(h), "send-count": String(sent) });
    for (const f of streamErrorFrames("undefined-condition", `acknowledged ${h} stanzas, ${sent} were sent`, {
      appSpecific: app,
    }))
      sendNonza(turn, f);
    turn.closing = true;
    return;
  }
  // An acknowledgement lower than an earlier one acknowledges nothing new: XEP-0198 does not make it an error.
  if (h < smBase - 1) return;
  turn.ack = { drop: h - (smBase - 1), base: h + 1 };
}

/** Counts one stanza received from the client. */
export function countInbound(turn: Turn): void {
  if (turn.state.sm) turn.state.sm.inbound += 1;
}

/**
 * <resume previd h/>: takes over the detached (or not yet noticed dead) session `previd` of the same
 * account, with its state and the stanzas the client had not acknowledged, which are sent again.
 */
export async function resume(turn: Turn, el: Element): Promise<void> {
  const previd = el.attrs.previd ?? "";
  if (turn.state.phase !== "ready") {
    sendNonza(turn, failed("unexpected-request"));
    return;
  }
  const h = Number(el.attrs.h);
  if (!Number.isSafeInteger(h) || h < 0) {
    sendNonza(turn, failed("bad-request"));
    return;
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const pointer = await documents().send(
      new GetCommand({ TableName: tableName("Sessions"), Key: pointerKey(previd), ConsistentRead: true }),
    );
    const oldId = pointer.Item?.target as string | undefined;
    const old = oldId ? await getSession(oldId) : undefined;
    if (!old?.state.sm?.resumable || old.state.sm.id !== previd || old.state.user !== turn.state.user) {
      sendNonza(turn, failed("item-not-found"));
      return;
    }
    const sent = old.smBase - 1 + old.smQueue.length;
    if (h > sent) {
      sendNonza(turn, failed("unexpected-request"));
      return;
    }
    const drop = Math.max(0, h - (old.smBase - 1));
    const remaining = old.smQueue.slice(drop);
    const state = { ...old.state, domain: turn.state.domain, streamId: turn.state.streamId };
    try {
      await documents().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              // Only if no delivery was queued meanwhile: else read again, so that none is lost.
              Delete: {
                TableName: tableName("Sessions"),
                Key: { connectionId: old.connectionId },
                ConditionExpression:
                  "attribute_exists(connectionId) AND (attribute_not_exists(smQueue) OR size(smQueue) = :n)",
                ExpressionAttributeValues: { ":n": old.smQueue.length },
              },
            },
            {
              Update: {
                TableName: tableName("Sessions"),
                Key: { connectionId: turn.connectionId },
                UpdateExpression:
                  // detached until the replay is sent (finishResume): a stanza routed meanwhile is queued
                  // behind the replayed ones instead of overtaking them on the socket.
                  "SET smQueue = list_append(:q, if_not_exists(smQueue, :empty)), smBase = :base, bareJid = :jid, #r = :res, available = :av, priority = :pr, smEnabled = :t, detached = :t",
                ExpressionAttributeNames: { "#r": "resource" },
                ExpressionAttributeValues: {
                  ":q": remaining,
                  ":empty": [],
                  ":base": h + 1,
                  ":jid": state.user,
                  ":res": state.resource,
                  ":av": state.available,
                  ":pr": state.priority,
                  ":t": true,
                },
              },
            },
            {
              Put: {
                TableName: tableName("Sessions"),
                Item: {
                  ...pointerKey(previd),
                  target: turn.connectionId,
                  expiresAt: nowSeconds() + SESSION_TTL_SECONDS,
                },
              },
            },
            {
              // So does the account's route: the old connection is dropped from it once this succeeded.
              Update: {
                TableName: tableName("Sessions"),
                Key: routeKey(state.user ?? ""),
                UpdateExpression: "ADD conns :c",
                ExpressionAttributeValues: { ":c": new Set([turn.connectionId]) },
              },
            },
            {
              // The full JID moves with the session.
              Put: {
                TableName: tableName("Sessions"),
                Item: {
                  connectionId: `jid#${state.user}/${state.resource}`,
                  owner: turn.connectionId,
                  expiresAt: nowSeconds() + SESSION_TTL_SECONDS,
                },
              },
            },
          ],
        }),
      );
    } catch (err) {
      if ((err as Error).name === "TransactionCanceledException") continue;
      throw err;
    }
    turn.state = state;
    // Later frames of this lease count from the resumed queue's head, which the transaction just set.
    turn.ack = { drop: 0, base: h + 1 };
    sendNonza(turn, xml("resumed", { xmlns: NS_SM, previd, h: String(old.state.sm.inbound) }));
    // Already counted in the queue under their numbers: sent again as they are.
    for (const stanza of remaining) sendNonza(turn, stanza);
    turn.after.push(() => finishResume(turn.connectionId, h + remaining.length));
    turn.after.push(() => removeRoute(state.user ?? "", old.connectionId, false));
    if (!old.detached) await closeConnection(old.connectionId);
    return;
  }
  sendNonza(turn, failed("resource-constraint"));
}

/**
 * Once the resumed stream's replay was sent: the session takes deliveries directly again, and the
 * stanzas queued for it since the resumption (numbered after `replayedUpTo`) are sent now, in order.
 */
async function finishResume(connectionId: string, replayedUpTo: number): Promise<void> {
  const out = await documents()
    .send(
      new UpdateCommand({
        TableName: tableName("Sessions"),
        Key: { connectionId },
        UpdateExpression: "REMOVE detached, detachedAt",
        ConditionExpression: "attribute_exists(connectionId)",
        ReturnValues: "ALL_NEW",
      }),
    )
    .catch((err: Error) => {
      if (err.name === "ConditionalCheckFailedException") return undefined;
      throw err;
    });
  if (!out?.Attributes) return;
  const record = toRecord(out.Attributes);
  const queuedSince = record.smQueue.slice(Math.max(0, replayedUpTo + 1 - record.smBase));
  if (queuedSince.length > 0) await postFrames(connectionId, queuedSince);
}

/** The socket closed: keep the session for resumption, and have it retired if nobody resumes it. */
export async function detach(connectionId: string): Promise<boolean> {
  return scheduleEnd(connectionId, resumeWindowSeconds(), true);
}

/**
 * Marks the session detached and has the SessionExpiry queue end it after `delaySeconds` (an SQS
 * delay, at most 900 s). With `onlyResumable`, does nothing to a session that cannot be resumed.
 * False when the session is gone (or not resumable when that was asked).
 */
export async function scheduleEnd(
  connectionId: string,
  delaySeconds: number,
  onlyResumable: boolean,
): Promise<boolean> {
  const now = Date.now();
  try {
    const out = await documents().send(
      new UpdateCommand({
        TableName: tableName("Sessions"),
        Key: { connectionId },
        UpdateExpression: "SET detached = :t, detachedAt = :now",
        ConditionExpression: "attribute_exists(connectionId)",
        ExpressionAttributeValues: { ":t": true, ":now": now },
        ReturnValues: "ALL_NEW",
      }),
    );
    const record = toRecord(out.Attributes ?? {});
    if (onlyResumable && !record.state.sm?.resumable) return false;
    await sqs().send(
      new SendMessageCommand({
        QueueUrl: queueUrl("SessionExpiry"),
        MessageBody: JSON.stringify({ connectionId, detachedAt: now }),
        DelaySeconds: Math.min(delaySeconds, 900),
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}

function failed(condition: string): Element {
  return xml("failed", { xmlns: NS_SM }, xml(condition, { xmlns: NS_STANZAS }));
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
