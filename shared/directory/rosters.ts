import { DeleteCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { batchDelete } from "../storage/batch";
import type { RosterItem } from "../xmpp/roster/items";
import { rosterItemKey, rosterPk } from "./keys";

export type RosterChange = { kind: "put"; item: RosterItem } | { kind: "delete"; jid: string };

export async function loadRoster(owner: string): Promise<RosterItem[]> {
  const items: RosterItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const out = await documents().send(
      new QueryCommand({
        TableName: tableName("Directory"),
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :item)",
        ExpressionAttributeValues: { ":pk": rosterPk(owner), ":item": "ITEM#" },
        ExclusiveStartKey: start,
        ConsistentRead: true,
      }),
    );
    for (const i of out.Items ?? []) items.push(i.item as RosterItem);
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

export async function applyRosterChanges(owner: string, changes: readonly RosterChange[]): Promise<void> {
  const table = tableName("Directory");
  for (const c of changes) {
    if (c.kind === "put") {
      await documents().send(
        new PutCommand({
          TableName: table,
          Item: { ...rosterItemKey(owner, c.item.jid), kind: "roster", item: c.item },
        }),
      );
    } else {
      await documents().send(new DeleteCommand({ TableName: table, Key: rosterItemKey(owner, c.jid) }));
    }
  }
}

/** Removes a whole roster (account deletion). */
export async function deleteRoster(owner: string): Promise<void> {
  const items = await loadRoster(owner);
  await batchDelete(
    tableName("Directory"),
    items.map((it) => rosterItemKey(owner, it.jid)),
  );
}
