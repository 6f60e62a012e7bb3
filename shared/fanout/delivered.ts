import { tableName } from "../aws/resources";
import { batchGet, batchPut } from "../storage/batch";

// Which recipients of an item were already notified, so that a delivery message retried after a
// failure half-way, or a replay at login, does not notify them twice. Streams table, a partition per item:
//   DELIVERED#<service>#<node>#<itemId>   <recipient jid>   expiresAt (two days: past any retry)
const KEEP_SECONDS = 2 * 24 * 3600;
const pk = (service: string, node: string, itemId: string) => `DELIVERED#${service}#${node}#${itemId}`;

export interface Delivered {
  readonly service: string;
  readonly node: string;
  readonly itemId: string;
  readonly jid: string;
}

/** The keys of delivered-marks, for a caller that reads them along with other keys (`batchGet`). */
export const deliveredKeys = (marks: readonly Delivered[]) =>
  marks.map((m) => ({ pk: pk(m.service, m.node, m.itemId), sk: m.jid }));

/** Reads back what `deliveredKeys` asked: "<itemId>\u0000<jid>" of each mark found. */
export const foundMarks = (items: readonly Record<string, unknown>[]): Set<string> =>
  new Set(items.map((i) => markId(String(i.itemId), String(i.sk))));

/** How a mark is named in the sets these functions return. */
export const markId = (itemId: string, jid: string): string => `${itemId}\u0000${jid}`;

/** Marks notifications as delivered, 25 per BatchWriteItem. */
export async function markDelivered(marks: readonly Delivered[]): Promise<void> {
  const expiresAt = Math.floor(Date.now() / 1000) + KEEP_SECONDS;
  await batchPut(
    tableName("Streams"),
    marks.map((m) => ({ pk: pk(m.service, m.node, m.itemId), sk: m.jid, itemId: m.itemId, expiresAt })),
  );
}

/** Of `marks`, those already delivered (as `markId`s). */
export async function alreadyDelivered(marks: readonly Delivered[]): Promise<Set<string>> {
  const table = tableName("Streams");
  const out = await batchGet([{ table, keys: deliveredKeys(marks) }]);
  return foundMarks(out.get(table) ?? []);
}
