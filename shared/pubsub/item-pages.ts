// A stream's items page by page, oldest first, for work that must not hold a whole stream in memory:
// a data subject's export (streamed) and erasure. Reads the publish-order index, like store.ts.
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { batchDelete } from "../storage/batch";
import { epochSeconds, isExpired } from "../storage/ttl";
import { itemsIndexPk } from "./keys";
import type { StoredItem } from "./store";

const table = (): string => tableName("Streams");

/** Live items of a node in publish order, at most `pageSize` per page (one query each). */
export async function* itemPages(
  service: string,
  node: string,
  pageSize = 100,
): AsyncGenerator<StoredItem[]> {
  let start: Record<string, unknown> | undefined;
  const seen = new Set<string>();
  do {
    const out = await documents().send(
      new QueryCommand({
        TableName: table(),
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": itemsIndexPk(service, node) },
        Limit: pageSize,
        ExclusiveStartKey: start,
      }),
    );
    const now = epochSeconds();
    const page: StoredItem[] = [];
    for (const i of out.Items ?? []) {
      // An item republished under its id may briefly be indexed twice: the export shows it once.
      if (isExpired(i, "expiresAt", now) || seen.has(String(i.itemId))) continue;
      seen.add(String(i.itemId));
      page.push({
        service: String(i.service),
        node: String(i.node),
        itemId: String(i.itemId),
        payload: String(i.payload),
        publisher: String(i.publisher),
        publishedAt: Number(i.publishedAt),
      });
    }
    if (page.length > 0) yield page;
    start = out.LastEvaluatedKey;
  } while (start);
}

/** How many items a node holds (index count; items past their retention but not yet swept included). */
export async function countItems(service: string, node: string): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await documents().send(
      new QueryCommand({
        TableName: table(),
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": itemsIndexPk(service, node) },
        Select: "COUNT",
        ExclusiveStartKey: start,
      }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

/** Deletes every item of a node (the node and its subscriptions stay); returns how many were deleted. */
export async function deleteAllItems(service: string, node: string): Promise<number> {
  let deleted = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await documents().send(
      new QueryCommand({
        TableName: table(),
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": itemsIndexPk(service, node) },
        ProjectionExpression: "pk, sk",
        ExclusiveStartKey: start,
      }),
    );
    const keys = (out.Items ?? []).map((i) => ({ pk: i.pk, sk: i.sk }));
    await batchDelete(table(), keys);
    deleted += keys.length;
    start = out.LastEvaluatedKey;
  } while (start);
  return deleted;
}
