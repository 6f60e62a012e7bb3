import "../server";
import { retireSession } from "./retire";
import { createSession, getSession } from "./store";
import { detach } from "./stream-management";

/** $connect: RFC 7395 3.2 requires the "xmpp" subprotocol; the session item is created empty. */
export async function handleConnect(
  connectionId: string,
  connectedAt: number,
  offered: string | undefined,
): Promise<boolean> {
  const protocols = (offered ?? "").split(",").map((p) => p.trim());
  if (!protocols.includes("xmpp")) return false;
  await createSession(connectionId, connectedAt);
  return true;
}

/**
 * $disconnect, including a dropped socket: a XEP-0198 resumable session waits for its client to come
 * back; any other ends now (unavailable presence, unacknowledged messages routed again).
 */
export async function handleDisconnect(connectionId: string): Promise<void> {
  const record = await getSession(connectionId);
  if (!record || record.state.closed) return;
  if (record.state.phase === "bound" && record.state.sm?.resumable) {
    if (await detach(connectionId)) return;
    // Gone meanwhile: whoever removed it (a <close/>, a resumption elsewhere) has already ended it.
    if (!(await getSession(connectionId))) return;
  }
  await retireSession(record, { socketAlreadyGone: true });
}

/**
 * A detached session nobody resumed in time. Safe to run twice: the second finds nothing to do; a
 * session detached again later (resumed, then lost again) waits for its own, later expiry message.
 */
export async function expireDetached(connectionId: string, detachedAt: number): Promise<void> {
  const record = await getSession(connectionId);
  if (!record?.detached || record.detachedAt !== detachedAt) return;
  await retireSession(record, { socketAlreadyGone: true });
}
