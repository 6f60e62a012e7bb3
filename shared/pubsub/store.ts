// Streams table I/O for PubSub (XEP-0060): nodes, items, subscriptions, affiliations. Key layout in keys.ts.
// No protocol decisions here (rules.ts makes them); this module only reads and writes.
import {
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { batchDelete } from "../storage/batch";
import { queryAll } from "../storage/query";
import { epochSeconds, isExpired } from "../storage/ttl";
import { configFromStored, type NodeConfig } from "./config";
import {
  AFF_PREFIX,
  affJidIndexPk,
  affJidIndexSk,
  affKey,
  itemKey,
  itemsIndexPk,
  itemsIndexSk,
  nodeIndexSk,
  nodeKey,
  nodePk,
  SUB_PREFIX,
  serviceIndexPk,
  subJidIndexPk,
  subKey,
} from "./keys";
import { type Affiliation, isAffiliation, type SubscriptionState } from "./rules";

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

/**
 * Subscriptions in state "subscribed" only (not pending/unconfigured), in a stable order, `limit` per page.
 * Subscriptions whose subscriber set pubsub#deliver to false are left out too: this list is who gets notified.
 */
export async function listSubscribers(
  service: string,
  node: string,
  opts: { cursor?: string; limit: number },
): Promise<SubscriberPage> {
  const found: { jid: string; subid: string; key: Record<string, unknown> }[] = [];
  let startKey = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
  // DynamoDB's Limit counts items evaluated before the filter: ask for what is missing until the page is
  // full. One subscriber more than the page is read, so that a cursor is returned only when another page
  // really holds someone (a full last page would otherwise cost the caller an empty round).
  while (found.length <= opts.limit) {
    const out = await documents().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :sub)",
        FilterExpression: "#state = :subscribed AND (attribute_not_exists(deliver) OR deliver = :yes)",
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: {
          ":pk": nodePk(service, node),
          ":sub": SUB_PREFIX,
          ":subscribed": "subscribed",
          ":yes": true,
        },
        Limit: opts.limit + 1 - found.length,
        ExclusiveStartKey: startKey,
        ConsistentRead: true,
      }),
    );
    for (const item of out.Items ?? [])
      found.push({ jid: String(item.jid), subid: String(item.subid), key: { pk: item.pk, sk: item.sk } });
    startKey = out.LastEvaluatedKey;
    if (!startKey) break;
  }
  const page = found.slice(0, opts.limit);
  const subscribers = page.map(({ jid, subid }) => ({ jid, subid }));
  const last = page.at(-1);
  return found.length > opts.limit && last
    ? { subscribers, cursor: encodeCursor(last.key) }
    : { subscribers };
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

export function toStoredItem(item: Record<string, unknown>): StoredItem {
  return {
    service: String(item.service),
    node: String(item.node),
    itemId: String(item.itemId),
    payload: String(item.payload),
    publisher: String(item.publisher),
    publishedAt: Number(item.publishedAt),
  };
}

// ---- nodes

export interface NodeRecord {
  readonly service: string;
  readonly node: string;
  readonly tenantId: string;
  readonly config: NodeConfig;
  /** Epoch ms. */
  readonly createdAt: number;
}

export async function getNode(service: string, node: string): Promise<NodeRecord | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: nodeKey(service, node), ConsistentRead: true }),
  );
  return out.Item ? toNodeRecord(out.Item) : undefined;
}

/** Creates the node with `owner` as its owner; false when the node exists already. */
export async function createNode(rec: NodeRecord, owner: string): Promise<boolean> {
  try {
    await documents().send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: table(),
              Item: {
                ...nodeKey(rec.service, rec.node),
                gsi1pk: serviceIndexPk(rec.service),
                gsi1sk: nodeIndexSk(rec.node),
                kind: "node",
                service: rec.service,
                node: rec.node,
                tenantId: rec.tenantId,
                config: rec.config,
                createdAt: rec.createdAt,
              },
              ConditionExpression: "attribute_not_exists(pk)",
            },
          },
          { Put: { TableName: table(), Item: affiliationItem(rec.service, rec.node, owner, "owner") } },
        ],
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === "TransactionCanceledException") {
      const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
      if (reasons[0]?.Code === "ConditionalCheckFailed") return false;
    }
    throw err;
  }
}

export async function saveConfig(service: string, node: string, config: NodeConfig): Promise<void> {
  await documents().send(
    new UpdateCommand({
      TableName: table(),
      Key: nodeKey(service, node),
      UpdateExpression: "SET config = :c",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":c": config },
    }),
  );
}

/** Deletes the node and everything in it: items, subscriptions, affiliations. */
export async function deleteNode(service: string, node: string): Promise<void> {
  const keys: Record<string, unknown>[] = [];
  for await (const item of queryAll({
    TableName: table(),
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": nodePk(service, node) },
    ProjectionExpression: "pk, sk",
  })) {
    keys.push({ pk: item.pk, sk: item.sk });
  }
  // The node's head goes first, so that a half-finished delete leaves no node that looks alive.
  keys.sort((a, b) => (a.sk === "#" ? -1 : b.sk === "#" ? 1 : 0));
  await batchDelete(table(), keys);
}

/** Every node of a service (index read: a node created a moment ago may be missing). */
export async function listNodes(service: string): Promise<NodeRecord[]> {
  const nodes: NodeRecord[] = [];
  for await (const item of queryAll({
    TableName: table(),
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": serviceIndexPk(service) },
  })) {
    nodes.push(toNodeRecord(item));
  }
  return nodes;
}

// ---- affiliations

function affiliationItem(service: string, node: string, jid: string, affiliation: Affiliation) {
  return {
    ...affKey(service, node, jid),
    gsi1pk: affJidIndexPk(jid),
    gsi1sk: affJidIndexSk(service, node),
    kind: "affiliation",
    service,
    node,
    jid,
    affiliation,
  };
}

export async function getAffiliation(service: string, node: string, bareJid: string): Promise<Affiliation> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: affKey(service, node, bareJid), ConsistentRead: true }),
  );
  const a = out.Item?.affiliation;
  return typeof a === "string" && isAffiliation(a) ? a : "none";
}

export async function listAffiliations(service: string, node: string): Promise<Map<string, Affiliation>> {
  const out = new Map<string, Affiliation>();
  for await (const item of queryAll({
    TableName: table(),
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :aff)",
    ExpressionAttributeValues: { ":pk": nodePk(service, node), ":aff": AFF_PREFIX },
    ConsistentRead: true,
  })) {
    if (typeof item.affiliation === "string" && isAffiliation(item.affiliation))
      out.set(String(item.jid), item.affiliation);
  }
  return out;
}

/** Writes the differences between `before` and `after` ("none" is the absence of an entry). */
export async function replaceAffiliations(
  service: string,
  node: string,
  before: ReadonlyMap<string, Affiliation>,
  after: ReadonlyMap<string, Affiliation>,
): Promise<void> {
  for (const [jid, affiliation] of after) {
    if (before.get(jid) === affiliation) continue;
    await documents().send(
      new PutCommand({ TableName: table(), Item: affiliationItem(service, node, jid, affiliation) }),
    );
  }
  for (const jid of before.keys()) {
    if (after.has(jid)) continue;
    await documents().send(new DeleteCommand({ TableName: table(), Key: affKey(service, node, jid) }));
  }
}

/** The nodes `bareJid` has an affiliation with, across services (index read). */
export async function affiliationsOf(
  bareJid: string,
): Promise<{ service: string; node: string; affiliation: Affiliation }[]> {
  const out: { service: string; node: string; affiliation: Affiliation }[] = [];
  for await (const item of queryAll({
    TableName: table(),
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": affJidIndexPk(bareJid) },
  })) {
    if (typeof item.affiliation === "string" && isAffiliation(item.affiliation))
      out.push({ service: String(item.service), node: String(item.node), affiliation: item.affiliation });
  }
  return out;
}

// ---- subscriptions

export interface Subscription {
  /** Bare or full JID, as subscribed. */
  readonly jid: string;
  readonly subid: string;
  readonly state: SubscriptionState;
  /** pubsub#deliver: false pauses notifications without unsubscribing. */
  readonly deliver: boolean;
  /** Epoch ms of the subscription request: what was published before is not replayed to it. */
  readonly subscribedAt?: number;
}

export async function getSubscription(
  service: string,
  node: string,
  jid: string,
): Promise<Subscription | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: subKey(service, node, jid), ConsistentRead: true }),
  );
  return out.Item ? toSubscription(out.Item) : undefined;
}

/** Every subscription of the node, any state (the owner's view, and the requester's own). */
export async function listSubscriptions(service: string, node: string): Promise<Subscription[]> {
  const subs: Subscription[] = [];
  for await (const item of queryAll({
    TableName: table(),
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :sub)",
    ExpressionAttributeValues: { ":pk": nodePk(service, node), ":sub": SUB_PREFIX },
    ConsistentRead: true,
  })) {
    subs.push(toSubscription(item));
  }
  return subs;
}

/** The subscriptions of one account (its bare JID and any of its full JIDs). */
export async function subscriptionsOf(
  service: string,
  node: string,
  bareJid: string,
): Promise<Subscription[]> {
  const subs: Subscription[] = [];
  for await (const item of queryAll({
    TableName: table(),
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :sub)",
    ExpressionAttributeValues: { ":pk": nodePk(service, node), ":sub": `${SUB_PREFIX}${bareJid}` },
    ConsistentRead: true,
  })) {
    const s = toSubscription(item);
    if (s.jid === bareJid || s.jid.startsWith(`${bareJid}/`)) subs.push(s);
  }
  return subs;
}

export async function putSubscription(service: string, node: string, sub: Subscription): Promise<void> {
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...subKey(service, node, sub.jid),
        gsi1pk: subJidIndexPk(sub.jid.split("/")[0] ?? sub.jid),
        gsi1sk: affJidIndexSk(service, node),
        kind: "subscription",
        service,
        node,
        ...sub,
        subscribedAt: sub.subscribedAt ?? Date.now(),
      },
    }),
  );
}

/** Every subscription of an account, on any node of any service (index read: may lag a write). */
export async function accountSubscriptions(
  bareJid: string,
): Promise<{ service: string; node: string; sub: Subscription }[]> {
  const out: { service: string; node: string; sub: Subscription }[] = [];
  for await (const item of queryAll({
    TableName: table(),
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": subJidIndexPk(bareJid) },
  })) {
    out.push({ service: String(item.service), node: String(item.node), sub: toSubscription(item) });
  }
  return out;
}

export async function deleteSubscription(service: string, node: string, jid: string): Promise<void> {
  await documents().send(new DeleteCommand({ TableName: table(), Key: subKey(service, node, jid) }));
}

// ---- items

/** Stores (or replaces, same id) an item; `expiresAt` in epoch seconds, for the table's TTL. */
export async function putItem(item: StoredItem, expiresAt?: number): Promise<void> {
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...itemKey(item.service, item.node, item.itemId),
        gsi1pk: itemsIndexPk(item.service, item.node),
        gsi1sk: itemsIndexSk(item.publishedAt, item.itemId),
        kind: "item",
        ...item,
        expiresAt,
      },
    }),
  );
}

/**
 * The node's live items, newest first, at most `max` (index read, so an item published a moment ago may
 * be missing, and an item republished under the same id may briefly show twice: the newer is kept).
 */
export async function latestItems(service: string, node: string, max?: number): Promise<StoredItem[]> {
  const now = epochSeconds();
  const out: StoredItem[] = [];
  const seen = new Set<string>();
  for await (const item of queryAll({
    TableName: table(),
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": itemsIndexPk(service, node) },
    ScanIndexForward: false,
  })) {
    if (isExpired(item, "expiresAt", now) || seen.has(String(item.itemId))) continue;
    seen.add(String(item.itemId));
    out.push(toStoredItem(item));
    if (max !== undefined && out.length >= max) break;
  }
  return out;
}

/**
 * The node's live items published at or after `since` (epoch ms), oldest first: the newest `max` of
 * them when there are more. Index read, like `latestItems`.
 */
export async function itemsSince(
  service: string,
  node: string,
  since: number,
  max: number,
): Promise<StoredItem[]> {
  const now = epochSeconds();
  const out: StoredItem[] = [];
  const seen = new Set<string>();
  for await (const item of queryAll({
    TableName: table(),
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk AND gsi1sk >= :from",
    ExpressionAttributeValues: { ":pk": itemsIndexPk(service, node), ":from": itemsIndexSk(since, "") },
    ScanIndexForward: false,
  })) {
    if (isExpired(item, "expiresAt", now) || seen.has(String(item.itemId))) continue;
    seen.add(String(item.itemId));
    out.push(toStoredItem(item));
    if (out.length >= max) break;
  }
  return out.reverse();
}

/** Items published from `fromMs` to `toMs` (inclusive, epoch ms), oldest first, at most `max`. */
export async function itemsBetween(
  service: string,
  node: string,
  fromMs: number,
  toMs: number,
  max: number,
): Promise<StoredItem[]> {
  const now = epochSeconds();
  const out: StoredItem[] = [];
  for await (const item of queryAll({
    TableName: table(),
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk AND gsi1sk BETWEEN :from AND :to",
    ExpressionAttributeValues: {
      ":pk": itemsIndexPk(service, node),
      ":from": itemsIndexSk(fromMs, ""),
      // "~" sorts after every item id character used here, so items of the last millisecond are in.
      ":to": itemsIndexSk(toMs, "~"),
    },
  })) {
    if (isExpired(item, "expiresAt", now)) continue;
    out.push(toStoredItem(item));
    if (out.length >= max) break;
  }
  return out;
}

/** Deletes the oldest items beyond `maxItems` (pubsub#max_items). */
export async function trimItems(service: string, node: string, maxItems: number): Promise<void> {
  const keys: Record<string, unknown>[] = [];
  let kept = 0;
  for await (const item of queryAll({
    TableName: table(),
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": itemsIndexPk(service, node) },
    ProjectionExpression: "pk, sk",
    ScanIndexForward: false,
  })) {
    if (kept < maxItems) kept++;
    else keys.push({ pk: item.pk, sk: item.sk });
  }
  await batchDelete(table(), keys);
}

export async function deleteItem(service: string, node: string, itemId: string): Promise<boolean> {
  const out = await documents().send(
    new DeleteCommand({ TableName: table(), Key: itemKey(service, node, itemId), ReturnValues: "ALL_OLD" }),
  );
  return out.Attributes !== undefined;
}

// ---- helpers

/** A node's record from its item, for callers that read it with other keys (see getNode). */
export function toNodeRecord(item: Record<string, unknown>): NodeRecord {
  return {
    service: String(item.service),
    node: String(item.node),
    tenantId: String(item.tenantId),
    config: configFromStored(item.config),
    createdAt: Number(item.createdAt),
  };
}

function toSubscription(item: Record<string, unknown>): Subscription {
  const state = item.state === "pending" || item.state === "unconfigured" ? item.state : "subscribed";
  return {
    jid: String(item.jid),
    subid: String(item.subid),
    state,
    deliver: item.deliver !== false,
    subscribedAt: item.subscribedAt === undefined ? undefined : Number(item.subscribedAt),
  };
}
