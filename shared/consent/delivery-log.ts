// What was delivered to whom, as a data subject sees it: counts per recipient per UTC day, read from the
// "delivery" entries of their audit chain (one per delivery message, one decision per recipient; see
// shared/fanout/deliver.ts). A decision with refused === null is a delivery. Pure.
import type { AuditEntry } from "./chain";

export interface DeliveryCount {
  /** YYYY-MM-DD (UTC). */
  readonly day: string;
  /** Bare JID, or the recipient key of a non-JID recipient ("webhook:<id>"). */
  readonly recipient: string;
  readonly delivered: number;
  readonly refused: number;
}

interface Decision {
  readonly to: string;
  readonly refused: string | null;
}

function decisionsOf(data: unknown): Decision[] {
  if (typeof data !== "object" || data === null) return [];
  const list = (data as { decisions?: unknown }).decisions;
  if (!Array.isArray(list)) return [];
  return list.flatMap((d): Decision[] => {
    if (typeof d !== "object" || d === null) return [];
    const { to, refused } = d as { to?: unknown; refused?: unknown };
    if (typeof to !== "string") return [];
    return [{ to, refused: typeof refused === "string" ? refused : null }];
  });
}

/** Counts per (day, recipient), days in order, recipients in order within a day. */
export function deliveryCounts(entries: readonly AuditEntry[]): DeliveryCount[] {
  const counts = new Map<string, { day: string; recipient: string; delivered: number; refused: number }>();
  for (const e of entries) {
    if (e.kind !== "delivery") continue;
    const at = (e.data as { at?: unknown } | null)?.at;
    const day = (typeof at === "string" ? at : e.at).slice(0, 10);
    for (const d of decisionsOf(e.data)) {
      // A full JID's resource says which device, not who: the subject asks who received their data.
      const recipient = d.to.split("/")[0] ?? d.to;
      const key = `${day}\u0000${recipient}`;
      const c = counts.get(key) ?? { day, recipient, delivered: 0, refused: 0 };
      if (d.refused === null) c.delivered++;
      else c.refused++;
      counts.set(key, c);
    }
  }
  return [...counts.values()].sort((a, b) =>
    a.day === b.day ? a.recipient.localeCompare(b.recipient) : a.day.localeCompare(b.day),
  );
}
