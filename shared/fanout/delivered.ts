import { BatchGetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";

// Which recipients of an item were already notified, so that a delivery message retried after a
// failure half-way does not notify them twice. Streams table, its own partition per item:
//   DELIVERED#<service>#<node>#<itemId>   <recipient jid>   expiresAt (two days: past any retry)
const KEEP_SECONDS = 2 * 24 * 3600;
const pk = (service: string, node: string, itemId: string) => `DELIVERED#${service}#${node}#${itemId}`;

export async function markDelivered(
  service: string,
  node: string,
  itemId: string,
  jid: string,
): Promise<void> {
  await documents().send(
    new PutCommand({
      TableName: tableName("Streams"),
      Item: {
        pk: pk(service, node, itemId),
        sk: jid,
        expiresAt: Math.floor(Date.now() / 1000) + KEEP_SECONDS,
      },
    }),
  );
}

/** Of `jids`, those already notified of the item. */
export async function alreadyDelivered(
  service: string,
  node: string,
  itemId: string,
  jids: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  const table = tableName("Streams");
  for (let i = 0; i < jids.length; i += 100) {
    let keys: Record<string, unknown>[] = jids
      .slice(i, i + 100)
      .map((sk) => ({ pk: pk(service, node, itemId), sk }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`alreadyDelivered: ${keys.length} keys still unprocessed`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      const out = await documents().send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[table] ?? []) found.add(String(item.sk));
      keys = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return found;
}
