import type { Element } from "@xmpp/xml";
import type { SessionRecord, SessionState } from "./state";

/**
 * One invocation's work on one connection: the state it may change and what it will send back.
 * Frames for the own connection are collected and sent in order when the invocation ends, so that
 * replies and pushes reach the client in the order they were decided.
 */
export interface Turn {
  readonly connectionId: string;
  readonly record: SessionRecord;
  state: SessionState;
  /** Frames for this connection, in order; stanzas among them are counted for XEP-0198. */
  readonly out: Array<{ frame: string; stanza: boolean }>;
  /** Set when the stream ends: frames are flushed, then the connection is closed. */
  closing: boolean;
  /** XEP-0198 acknowledgement received: drop this many stanzas from the head of the queue. */
  ack?: { drop: number; base: number };
  /** Work to do after the state is saved (routing that must see the new state, e.g. presence). */
  readonly after: Array<() => Promise<void>>;
}

export function newTurn(connectionId: string, record: SessionRecord): Turn {
  return { connectionId, record, state: record.state, out: [], closing: false, after: [] };
}

export const sendStanza = (turn: Turn, el: Element): void => {
  turn.out.push({ frame: el.toString(), stanza: true });
};

export const sendNonza = (turn: Turn, el: Element | string): void => {
  turn.out.push({ frame: typeof el === "string" ? el : el.toString(), stanza: false });
};

/** The session's full JID, once bound. */
export function fullJid(state: SessionState): string | undefined {
  return state.user && state.resource ? `${state.user}/${state.resource}` : undefined;
}
