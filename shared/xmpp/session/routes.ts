import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../../aws/clients";
import { tableName } from "../../aws/resources";
import { batchGet, type GetRequest } from "../../storage/batch";
import type { SessionRecord } from "./state";
import { toRecord } from "./store";

// One routing item per account in the Sessions table, so that a fan-out finds the sessions of 50
// subscribers with two BatchGetItem calls instead of 50 index queries:
//   connectionId = acct#<bare jid>   conns: string set of the account's bound connections
//                                     offlineSince: epoch ms since when the account may have missed
//                                     stream notifications (absent while it is online)
// No bareJid attribute: the item stays out of the byJid index. A connection id left behind (a session
// whose item expired without being retired) is harmless: its session item is simply not found.

const table = () => tableName("Sessions");
export const routeKey = (bareJid: string) => ({ connectionId: `acct#${bareJid}` });

export interface AccountRoute {
  readonly conns: readonly string[];
  readonly offlineSince?: number;
}

/** A bound session can take deliveries. */
export async function addRoute(bareJid: string, connectionId: string): Promise<void> {
  await documents().send(
    new UpdateCommand({
      TableName: table(),
      Key: routeKey(bareJid),
      UpdateExpression: "ADD conns :c",
      ExpressionAttributeValues: { ":c": new Set([connectionId]) },
    }),
  );
}

/**
 * A session ended (`offline`: the account may now miss notifications) or moved to another connection
 * (resumption). The earliest offline moment is kept: it is where the replay at next login starts.
 */
export async function removeRoute(bareJid: string, connectionId: string, offline: boolean): Promise<void> {
  await documents().send(
    new UpdateCommand({
      TableName: table(),
      Key: routeKey(bareJid),
      UpdateExpression: offline
        ? "DELETE conns :c SET offlineSince = if_not_exists(offlineSince, :now)"
        : "DELETE conns :c",
      ExpressionAttributeValues: offline
        ? { ":c": new Set([connectionId]), ":now": Date.now() }
        : { ":c": new Set([connectionId]) },
    }),
  );
}

/**
 * Notifications of items published at or after `since` may not have reached the account (it was found
 * without a live session): moves the replay start back to `since` if it is later.
 */
export async function markMissedSince(bareJid: string, since: number): Promise<void> {
  try {
    await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: routeKey(bareJid),
        UpdateExpression: "SET offlineSince = :t",
        ConditionExpression: "attribute_not_exists(offlineSince) OR offlineSince > :t",
        ExpressionAttributeValues: { ":t": since },
      }),
    );
  } catch (err) {
    if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
  }
}

/**
 * Takes the replay start for a login: returns it and clears it, so that the next login of an account
 * that stayed online replays nothing. `undefined` with `known: false` for an account that never had a
 * session (its replay starts at each subscription's date).
 */
export async function takeOfflineSince(bareJid: string): Promise<{ known: boolean; since?: number }> {
  const out = await documents().send(
    new UpdateCommand({
      TableName: table(),
      Key: routeKey(bareJid),
      UpdateExpression: "REMOVE offlineSince",
      ReturnValues: "ALL_OLD",
    }),
  );
  const old = out.Attributes;
  if (!old) return { known: false };
  return { known: true, since: old.offlineSince === undefined ? undefined : Number(old.offlineSince) };
}

/** Attributes a delivery needs of a session (its state JSON is left out: it is the bulk of the item). */
const DELIVERY_ATTRIBUTES = [
  "connectionId",
  "bareJid",
  "resource",
  "available",
  "priority",
  "smEnabled",
  "detached",
  "detachedAt",
  "smBase",
  "smQueue",
  "expiresAt",
] as const;

/**
 * The routing items of `bareJids`, and the sessions they name, in two BatchGetItem rounds. `also`
 * rides in the first round; `then`, given what the first round found, names more keys for the second.
 */
export async function lookupRoutes(
  bareJids: readonly string[],
  also: readonly GetRequest[] = [],
  then: (first: ReadonlyMap<string, Record<string, unknown>[]>) => readonly GetRequest[] = () => [],
): Promise<{
  routes: Map<string, AccountRoute>;
  sessions: Map<string, SessionRecord[]>;
  /** What `also` and `then` asked, per table, read in the same round trips as the routes and sessions. */
  extra: Map<string, Record<string, unknown>[]>;
}> {
  const first = await batchGet([{ table: table(), keys: bareJids.map(routeKey) }, ...also]);
  const routes = new Map<string, AccountRoute>();
  for (const item of first.get(table()) ?? []) {
    const bare = String(item.connectionId).slice("acct#".length);
    const conns = item.conns instanceof Set ? [...(item.conns as Set<string>)] : [];
    routes.set(bare, {
      conns,
      offlineSince: item.offlineSince === undefined ? undefined : Number(item.offlineSince),
    });
  }
  first.delete(table());
  const ids = [...routes.values()].flatMap((r) => r.conns);
  const more = then(first);
  const sessions = new Map<string, SessionRecord[]>();
  if (ids.length === 0 && more.length === 0) return { routes, sessions, extra: first };
  const second = await batchGet([
    ...(ids.length > 0
      ? [
          {
            table: table(),
            keys: ids.map((connectionId) => ({ connectionId })),
            attributes: DELIVERY_ATTRIBUTES,
          },
        ]
      : []),
    ...more,
  ]);
  const now = Math.floor(Date.now() / 1000);
  for (const item of second.get(table()) ?? []) {
    if (Number(item.expiresAt ?? now + 1) <= now || typeof item.bareJid !== "string") continue;
    const record = toRecord(item);
    const list = sessions.get(item.bareJid) ?? [];
    list.push(record);
    sessions.set(item.bareJid, list);
  }
  second.delete(table());
  for (const [t, items] of second) first.set(t, [...(first.get(t) ?? []), ...items]);
  return { routes, sessions, extra: first };
}
