import { closeConnection, postFrames } from "../connections";
import { MAX_UNACKED } from "../routing/outbound";
import "../server";
import type { SessionState } from "./state";
import { acquireOrHandOver, enqueueForAck, releaseOrTakeMore } from "./store";
import { handleFrame } from "./stream";
import { newTurn, type Turn } from "./turn";

export interface InboundFrame {
  readonly connectionId: string;
  readonly body: string;
  /** When API Gateway received it, and its message id: the order of frames handed over. */
  readonly receivedAt: number;
  readonly messageId: string;
}

/**
 * Processes one inbound frame under the session's lease (see store.ts), together with any frames
 * other invocations handed over meanwhile, then saves the state and releases the lease.
 */
export async function processFrame(frame: InboundFrame): Promise<void> {
  const { connectionId } = frame;
  const lease = await acquireOrHandOver(connectionId, {
    body: frame.body,
    at: frame.receivedAt,
    id: frame.messageId,
  });
  if (lease.kind === "no-session") return closeConnection(connectionId);
  if (lease.kind === "handed-over") return;

  const record = lease.record;
  let state: SessionState = record.state;
  let ack: Turn["ack"];
  const after: Turn["after"] = [];
  let closing = false;
  let frames = [...lease.frames].sort((a, b) => a.at - b.at);
  for (;;) {
    for (const f of frames) {
      const turn = newTurn(connectionId, { ...record, state });
      await handleFrame(turn, f.body);
      const delivered = await flush(turn);
      state = turn.state;
      ack = turn.ack ?? ack;
      if (delivered) after.push(...turn.after);
      if (turn.closing || !delivered) {
        closing = true;
        break;
      }
    }
    const released = await releaseOrTakeMore(connectionId, lease.leaseId, state, ack);
    if (released === "released" || released === "lost" || closing) break;
    frames = released;
    ack = undefined;
  }
  for (const task of after) await task();
  if (closing) await closeConnection(connectionId);
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
