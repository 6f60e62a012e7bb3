// A stream's items page by page, oldest first, for work that must not hold a whole stream in memory:
// a data subject's export (streamed) and erasure. Reads the publish-order index, like store.ts.
import { tableName } from "../aws/resources";
import { batchDelete } from "../storage/batch";
import { queryPages } from "../storage/query";
import { epochSeconds, isExpired } from "../storage/ttl";
import { itemsIndexPk } from "./keys";
import { type StoredItem, toStoredItem } from "./store";

const table = (): string => tableName("Streams");

const byIndex = (service: string, node: string) => ({
  TableName: table(),
  IndexName: "gsi1",
  KeyConditionExpression: "gsi1pk = :pk",
  ExpressionAttributeValues: { ":pk": itemsIndexPk(service, node) },
});

/** Live items of a node in publish order, at most `pageSize` per page (one query each). */
export async function* itemPages(
  service: string,
  node: string,
  pageSize = 100,
): AsyncGenerator<StoredItem[]> {
  const seen = new Set<string>();
  for await (const out of queryPages({ ...byIndex(service, node), Limit: pageSize })) {
    const now = epochSeconds();
    const page: StoredItem[] = [];
    for (const i of out.Items ?? []) {
      // An item republished under its id may briefly be indexed twice: the export shows it once.
      if (isExpired(i, "expiresAt", now) || seen.has(String(i.itemId))) continue;
      seen.add(String(i.itemId));
      page.push(toStoredItem(i));
    }
    if (page.length > 0) yield page;
  }
}

/** How many items a node holds (index count; items past their retention but not yet swept included). */
export async function countItems(service: string, node: string): Promise<number> {
  let count = 0;
  for await (const out of queryPages({ ...byIndex(service, node), Select: "COUNT" })) count += out.Count ?? 0;
  return count;
}

/** Deletes every item of a node (the node and its subscriptions stay); returns how many were deleted. */
export async function deleteAllItems(service: string, node: string): Promise<number> {
  let deleted = 0;
  for await (const out of queryPages({ ...byIndex(service, node), ProjectionExpression: "pk, sk" })) {
    const keys = (out.Items ?? []).map((i) => ({ pk: i.pk, sk: i.sk }));
    await batchDelete(table(), keys);
    deleted += keys.length;
  }
  return deleted;
}
