import { randomBytes } from "node:crypto";
import { xml } from "@xmpp/xml";
import { closeConnection, postFrames } from "../connections";
import { NS_FRAMING } from "../namespaces";
import { MAX_UNACKED, REQUEST_ACK_EVERY } from "../routing/outbound";
import { streamErrorFrames } from "../stream-errors";
import "../server";
import type { PendingFrame, SessionState } from "./state";
import { acknowledgeAlone, acquireOrHandOver, enqueueForAck, releaseOrTakeMore, takePending } from "./store";
import { handleFrame } from "./stream";
import { newTurn, sendNonza, type Turn } from "./turn";

export interface InboundFrame {
  readonly connectionId: string;
  readonly body: string;
  /** When API Gateway received it, and its message id: the order of frames handed over. */
  readonly receivedAt: number;
  readonly messageId: string;
  /** A binary message that is not UTF-8 (body: its base64). */
  readonly invalid?: true;
}

/**
 * How long after API Gateway received a frame its holder waits for frames received before it, whose
 * invocations may reach DynamoDB later (RFC 6120 10.1: a client's stanzas are processed in order).
 * RELAIS_FRAME_REORDER_MS overrides it; 0 turns the wait off.
 */
export function reorderWindowMs(): number {
  const set = process.env.RELAIS_FRAME_REORDER_MS;
  const raw = set ? Number(set) : Number.NaN;
  return Number.isFinite(raw) && raw >= 0 ? raw : DEFAULT_REORDER_WINDOW_MS;
}
const DEFAULT_REORDER_WINDOW_MS = 40;

/**
 * A XEP-0198 <a/> alone: it only moves the head of the queue of stanzas the server sent, whatever the
 * client's other frames around it, so it need not wait for earlier ones. Subscribers answer every tenth
 * notification with one: the wait and its read would be most of their cost. Matched on the text, as a
 * single empty element; anything else takes the usual way.
 */
const ACK_ONLY = /^<a\s+(?:[^<>]*\s)?xmlns=(["'])urn:xmpp:sm:3\1[^<>]*\/>$/;

const isAckOnly = (f: { body: string; invalid?: true }) => !f.invalid && ACK_ONLY.test(f.body.trim());

/** The count of a frame that is a lone XEP-0198 <a h/>. */
function loneAcknowledgement(frame: InboundFrame): number | undefined {
  if (!isAckOnly(frame)) return undefined;
  const h = /\sh=(["'])(\d{1,15})\1/.exec(frame.body)?.[2];
  return h === undefined ? undefined : Number(h);
}

/**
 * Waits out the reorder window of `frames`, then adds what was handed over meanwhile, in receipt order.
 * Frames handed over but not taken here are taken when the lease is released (releaseOrTakeMore).
 */
async function settle(
  connectionId: string,
  leaseId: string,
  frames: PendingFrame[],
): Promise<PendingFrame[]> {
  const window = reorderWindowMs();
  if (window > 0 && !frames.every(isAckOnly)) {
    const latest = Math.max(...frames.map((f) => f.at));
    const wait = latest + window - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, Math.min(wait, window)));
    frames = [...frames, ...(await takePending(connectionId, leaseId))];
  }
  // Stable: frames received in the same millisecond keep the order they were handed over in.
  return frames.sort((a, b) => a.at - b.at);
}

/**
 * Processes one inbound frame under the session's lease (see store.ts), together with any frames
 * other invocations handed over meanwhile, then saves the state and releases the lease.
 */
export async function processFrame(frame: InboundFrame): Promise<void> {
  const { connectionId } = frame;
  const h = loneAcknowledgement(frame);
  if (h !== undefined && (await acknowledgeAlone(connectionId, h, REQUEST_ACK_EVERY))) return;
  const lease = await acquireOrHandOver(connectionId, {
    body: frame.body,
    at: frame.receivedAt,
    id: frame.messageId,
    ...(frame.invalid && { invalid: true as const }),
  });
  if (lease.kind === "no-session") return closeConnection(connectionId);
  if (lease.kind === "handed-over") return;

  const record = lease.record;
  let state: SessionState = record.state;
  // XEP-0198 acknowledgements not yet written: the head of the queue moves only when the holder
  // saves, so the turns of one lease see the head as their predecessors left it.
  let smBase = record.smBase;
  let dropped = 0;
  const after: Turn["after"] = [];
  let closing = false;
  /** The turn that ended the stream: flushed after the save. */
  let last: Turn | undefined;
  let frames = await settle(connectionId, lease.leaseId, [...lease.frames]);
  for (;;) {
    for (const f of frames) {
      const turn = newTurn(connectionId, {
        ...record,
        state,
        smBase,
        smQueue: record.smQueue.slice(Math.max(0, smBase - record.smBase)),
      });
      if (f.invalid) notUtf8(turn);
      else await handleFrame(turn, f.body);
      // The frames that end a stream (its <close/>, a stream error) leave only once its state is saved:
      // a client that has seen them counts on the session being over (no longer available, nothing more
      // routed to it), and may at once do what assumes that, such as publishing to a node it follows.
      const delivered = turn.closing || (await flush(turn));
      state = turn.state;
      if (turn.ack) {
        dropped += turn.ack.drop;
        smBase = turn.ack.base;
      }
      if (turn.closing) last = turn;
      else if (delivered) after.push(...turn.after);
      if (turn.closing || !delivered) {
        closing = true;
        break;
      }
    }
    const ack = smBase !== record.smBase || dropped > 0 ? { drop: dropped, base: smBase } : undefined;
    const released = await releaseOrTakeMore(connectionId, lease.leaseId, state, ack);
    if (released === "released" || released === "lost") break;
    dropped = 0;
    // Frames came in meanwhile, and the state is not saved yet: go round again. Once the stream has
    // ended they are dropped, except after the client's own <close/>, whose late <a/> still counts.
    frames = closing && !state.closed ? [] : await settle(connectionId, lease.leaseId, released);
  }
  if (last) {
    await flush(last);
    after.push(...last.after);
  }
  for (const task of after) await task();
  if (closing) await closeConnection(connectionId);
}

/** RFC 6120 11.6 and 4.9.3.22: bytes that are not UTF-8 end the stream (opened first, RFC 7395 3.6). */
function notUtf8(turn: Turn): void {
  if (turn.state.phase === "connected") {
    sendNonza(
      turn,
      xml("open", {
        xmlns: NS_FRAMING,
        id: randomBytes(9).toString("base64url"),
        version: "1.0",
        "xml:lang": "en",
      }),
    );
  }
  for (const f of streamErrorFrames("unsupported-encoding", "the message is not valid UTF-8 (RFC 6120 11.6)"))
    sendNonza(turn, f);
  turn.closing = true;
}

/** Sends the turn's frames to its connection; XEP-0198 stanzas are counted first. False: socket gone. */
async function flush(turn: Turn): Promise<boolean> {
  if (turn.out.length === 0) return true;
  const stanzas = turn.out.filter((o) => o.stanza).map((o) => o.frame);
  if (turn.state.sm && stanzas.length > 0) await enqueueForAck(turn.connectionId, stanzas, MAX_UNACKED);
  return (
    (await postFrames(
      turn.connectionId,
      turn.out.map((o) => o.frame),
    )) === "sent"
  );
}
