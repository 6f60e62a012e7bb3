// The consent check of a delivery, decided at delivery time (so that a withdrawal stops items already
// queued), and minimisation: a consent limited to some SenML names lets only those records through.
// Pure: the grants are read by the caller, in the batch it reads anyway.
import type { Element } from "@xmpp/xml";
import { parsePackElement, toXmlElement } from "../senml";
import { recipientKeysOfJid } from "./record";
import type { Grant } from "./store";

export type Verdict =
  | { readonly allowed: true; readonly consentId?: string; readonly names?: readonly string[] }
  | { readonly allowed: false; readonly reason: "no consent" | "consent expired" };

/**
 * Whether a recipient may receive an item of a stream about `subject` (undefined: not personal data):
 * a JID (bare), or another kind of recipient by its key (a webhook endpoint: "webhook:<id>"). The
 * subject always gets their own data; a JID needs a grant of its own or of its whole domain (a remote
 * server's), anything else its own grant; valid now.
 */
export function decide(
  recipient: string | { readonly key: string },
  subject: string | undefined,
  grants: ReadonlyMap<string, Grant>,
  now: Date,
): Verdict {
  if (subject === undefined || recipient === subject) return { allowed: true };
  const keys = typeof recipient === "string" ? recipientKeysOfJid(recipient) : [recipient.key];
  let expired = false;
  for (const key of keys) {
    const g = grants.get(key);
    if (!g) continue;
    if (Date.parse(g.validUntil) > now.getTime()) {
      return { allowed: true, consentId: g.consentId, ...(g.names ? { names: g.names } : {}) };
    }
    expired = true;
  }
  return { allowed: false, reason: expired ? "consent expired" : "no consent" };
}

/**
 * The pack with only the records whose resolved name is in `names`, as resolved records (base fields
 * folded in, so that nothing of the other records leaks through them); undefined when none is left.
 */
export function minimise(
  sensml: Element,
  names: readonly string[],
  publishedAt: number,
): Element | undefined {
  const parsed = parsePackElement(sensml, { now: publishedAt / 1000 });
  if (!parsed.ok) return undefined;
  const wanted = new Set(names);
  const kept = parsed.records.filter((r) => wanted.has(r.n));
  return kept.length === 0 ? undefined : toXmlElement(kept);
}
