import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { batchGet, batchPut } from "../storage/batch";
import { shardOf } from "./jobs";

// Which recipients of an item were already notified, so that a delivery message retried after a
// failure half-way, a redriven one, or a replay at login does not notify them twice. Streams table, a
// partition per item, one item per delivery shard holding the set of JIDs notified:
//   DELIVERED#<service>#<node>#<itemId>   shard#<n>   jids: string set, expiresAt (two days: past any retry)
// A delivery message's recipients share a shard (fan-out groups them so), so a message reads one mark
// and writes one, where a mark per recipient cost one read and one write each. A set is capped at
// MARKS_PER_SET JIDs (an item holds 400 KB): past it the shard "spills", and its further marks are
// items of their own, sk = the recipient's JID, read only for a spilled shard.
const KEEP_SECONDS = 2 * 24 * 3600;
/**
 * JIDs per mark set: 5,000 JIDs of a usual length (40 bytes) take 200 KB. Very long JIDs can reach the
 * 400 KB item limit first: an ADD refused for the item's size spills as well.
 */
export const MARKS_PER_SET = 5_000;

const pk = (m: Delivered) => `DELIVERED#${m.service}#${m.node}#${m.itemId}`;
const setKey = (m: Delivered) => ({ pk: pk(m), sk: `shard#${shardOf(m.jid)}` });

export interface Delivered {
  readonly service: string;
  readonly node: string;
  readonly itemId: string;
  readonly jid: string;
}

/** How a mark is named in the sets these functions return. */
export const markId = (itemId: string, jid: string): string => `${itemId}\u0000${jid}`;

/** The keys of the mark sets of `marks`, for a caller that reads them along with other keys (`batchGet`). */
export function deliveredKeys(marks: readonly Delivered[]): Array<{ pk: string; sk: string }> {
  const keys = new Map<string, { pk: string; sk: string }>();
  for (const m of marks) {
    const key = setKey(m);
    keys.set(`${key.pk}\u0000${key.sk}`, key);
  }
  return [...keys.values()];
}

/**
 * Of `marks`, those already delivered (as `markId`s), given the mark sets read with `deliveredKeys`;
 * the marks of spilled shards are read here.
 */
export async function markedIn(
  marks: readonly Delivered[],
  sets: readonly Record<string, unknown>[],
): Promise<Set<string>> {
  const done = new Set<string>();
  const spilled = new Set<string>();
  for (const s of sets) {
    const itemId = String(s.itemId);
    if (s.jids instanceof Set) for (const jid of s.jids as Set<string>) done.add(markId(itemId, jid));
    if (s.spill === true) spilled.add(`${s.pk}\u0000${s.sk}`);
  }
  const alone = marks.filter((m) => {
    const key = setKey(m);
    return spilled.has(`${key.pk}\u0000${key.sk}`) && !done.has(markId(m.itemId, m.jid));
  });
  if (alone.length > 0) {
    const table = tableName("Streams");
    const out = await batchGet([{ table, keys: alone.map((m) => ({ pk: pk(m), sk: m.jid })) }]);
    for (const i of out.get(table) ?? []) done.add(markId(String(i.itemId), String(i.sk)));
  }
  return done;
}

/** Of `marks`, those already delivered (as `markId`s). */
export async function alreadyDelivered(marks: readonly Delivered[]): Promise<Set<string>> {
  const table = tableName("Streams");
  const out = await batchGet([{ table, keys: deliveredKeys(marks) }]);
  return markedIn(marks, out.get(table) ?? []);
}

/**
 * Marks notifications as delivered: one UpdateItem per mark set (per delivery message, normally), in
 * parallel. A set that would pass MARKS_PER_SET, or that DynamoDB refuses to grow, spills: the shard is
 * flagged, and these marks are written as items of their own, 25 per BatchWriteItem.
 */
export async function markDelivered(marks: readonly Delivered[], perSet = MARKS_PER_SET): Promise<void> {
  if (marks.length === 0) return;
  const expiresAt = Math.floor(Date.now() / 1000) + KEEP_SECONDS;
  const groups = new Map<string, Delivered[]>();
  for (const m of marks) {
    const key = setKey(m);
    const id = `${key.pk}\u0000${key.sk}`;
    const group = groups.get(id);
    if (group) group.push(m);
    else groups.set(id, [m]);
  }
  await Promise.all(
    [...groups.values()].map(async (group) => {
      const first = group[0] as Delivered;
      const jids = new Set(group.map((m) => m.jid));
      const Key = setKey(first);
      try {
        await documents().send(
          new UpdateCommand({
            TableName: tableName("Streams"),
            Key,
            UpdateExpression: "ADD jids :j SET itemId = :i, expiresAt = :e",
            ConditionExpression:
              "attribute_not_exists(spill) AND (attribute_not_exists(jids) OR size(jids) <= :room)",
            ExpressionAttributeValues: {
              ":j": jids,
              ":i": first.itemId,
              ":e": expiresAt,
              ":room": perSet - jids.size,
            },
          }),
        );
        return;
      } catch (err) {
        const name = (err as Error).name;
        // ValidationException: the set would pass DynamoDB's item size.
        if (name !== "ConditionalCheckFailedException" && name !== "ValidationException") throw err;
      }
      await documents().send(
        new UpdateCommand({
          TableName: tableName("Streams"),
          Key,
          UpdateExpression: "SET spill = :t, itemId = :i, expiresAt = :e",
          ExpressionAttributeValues: { ":t": true, ":i": first.itemId, ":e": expiresAt },
        }),
      );
      await batchPut(
        tableName("Streams"),
        [...jids].map((jid) => ({ pk: Key.pk, sk: jid, itemId: first.itemId, expiresAt })),
      );
    }),
  );
}
