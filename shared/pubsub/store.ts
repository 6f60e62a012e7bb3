// Streams table I/O for PubSub (XEP-0060): nodes, items, subscriptions, affiliations. Key layout in keys.ts.
// No protocol decisions here (rules.ts makes them); this module only reads and writes.
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { epochSeconds, isExpired } from "../storage/ttl";
import { itemKey, nodePk, SUB_PREFIX } from "./keys";

const table = (): string => tableName("Streams");

export interface StoredItem {
  readonly service: string;
  readonly node: string;
  readonly itemId: string;
  /** The XML of the <item>'s child, e.g. <sensml xmlns="urn:ietf:params:xml:ns:senml">…</sensml>. */
  readonly payload: string;
  /** Bare JID. */
  readonly publisher: string;
  /** Epoch ms. */
  readonly publishedAt: number;
}

/** An item, strongly consistent; undefined when absent or past its retention (TTL may lag). */
export async function getItem(
  service: string,
  node: string,
  itemId: string,
): Promise<StoredItem | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: itemKey(service, node, itemId), ConsistentRead: true }),
  );
  if (!out.Item || isExpired(out.Item, "expiresAt", epochSeconds())) return undefined;
  return toStoredItem(out.Item);
}

export interface SubscriberPage {
  readonly subscribers: ReadonlyArray<{ readonly jid: string; readonly subid: string }>;
  readonly cursor?: string;
}

/** Subscriptions in state "subscribed" only (not pending/unconfigured), in a stable order, `limit` per page. */
export async function listSubscribers(
  service: string,
  node: string,
  opts: { cursor?: string; limit: number },
): Promise<SubscriberPage> {
  const subscribers: { jid: string; subid: string }[] = [];
  let startKey = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
  // DynamoDB's Limit counts items evaluated before the filter: ask for what is missing until the page is
  // full, so a page is short only at the end, and the cursor is where evaluation stopped.
  while (subscribers.length < opts.limit) {
    const out = await documents().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :sub)",
        FilterExpression: "#state = :subscribed",
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: {
          ":pk": nodePk(service, node),
          ":sub": SUB_PREFIX,
          ":subscribed": "subscribed",
        },
        Limit: opts.limit - subscribers.length,
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
    for (const item of out.Items ?? [])
      subscribers.push({ jid: String(item.jid), subid: String(item.subid) });
    startKey = out.LastEvaluatedKey;
    if (!startKey) break;
  }
  return startKey ? { subscribers, cursor: encodeCursor(startKey) } : { subscribers };
}

function encodeCursor(key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify([key.pk, key.sk])).toString("base64url");
}

function decodeCursor(cursor: string): Record<string, unknown> {
  const parsed: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string")
    throw new Error("listSubscribers: malformed cursor");
  return { pk: parsed[0], sk: parsed[1] };
}

function toStoredItem(item: Record<string, unknown>): StoredItem {
  return {
    service: String(item.service),
    node: String(item.node),
    itemId: String(item.itemId),
    payload: String(item.payload),
    publisher: String(item.publisher),
    publishedAt: Number(item.publishedAt),
  };
}
