import { closeConnection, postFrames } from "../connections";
import { goOffline } from "../features/presence";
import { route } from "../routing/router";
import { parseStored } from "../stored-xml";
import { type StreamErrorCondition, streamErrorFrames } from "../stream-errors";
import { removeRoute } from "./routes";
import type { SessionRecord } from "./state";
import { deleteSession, releaseResource, sessionsOf } from "./store";

/**
 * Ends a session for good: its socket closed (with a stream error if given), its item deleted, its
 * contacts told it went offline, and stanzas it had not acknowledged (XEP-0198) routed again as if it
 * had never existed, so that a message reaches another resource or offline storage instead of being lost.
 */
export async function retireSession(
  record: SessionRecord,
  opts: { streamError?: [StreamErrorCondition, string]; socketAlreadyGone?: boolean } = {},
): Promise<void> {
  if (opts.streamError && !opts.socketAlreadyGone && !record.detached) {
    await postFrames(record.connectionId, streamErrorFrames(...opts.streamError));
    await closeConnection(record.connectionId);
  }
  // The session as it was when deleted, not when `record` was read: what was queued for it meanwhile
  // is routed again too. Already deleted: someone else ended it, and did all this.
  const last = await deleteSession(record.connectionId);
  if (!last) return;
  const { user, resource } = last.state;
  if (user && resource) await releaseResource(`${user}/${resource}`, record.connectionId);
  if (user && resource) await removeRoute(user, record.connectionId, true);
  if (last.state.available) await goOffline(last.state);
  for (const frame of last.smQueue) {
    const stanza = parseStored(frame);
    if (stanza.name === "message") await route(stanza);
  }
}

/**
 * Ends every session of an account (disabled or deleted by its tenant's admin): each is closed with
 * `not-authorized`, as a login would now be refused. Its resources' presence goes unavailable to contacts.
 */
export async function endSessionsOf(bareJid: string, reason: string): Promise<number> {
  const sessions = await sessionsOf(bareJid);
  for (const s of sessions) await retireSession(s, { streamError: ["not-authorized", reason] });
  return sessions.length;
}
