import { BatchGetCommand, BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";

type Key = Record<string, unknown>;
type Item = Record<string, unknown>;

const backoff = (attempt: number) => new Promise((r) => setTimeout(r, 20 * 2 ** attempt));

/** Deletes keys 25 at a time, retrying what DynamoDB reports unprocessed (throttling) with backoff. */
export async function batchDelete(table: string, keys: readonly Key[]): Promise<void> {
  await batchWrite(
    table,
    keys.map((Key) => ({ DeleteRequest: { Key } })),
  );
}

/** Puts items 25 at a time (no conditions: BatchWriteItem has none), retrying what is unprocessed. */
export async function batchPut(table: string, items: readonly Item[]): Promise<void> {
  await batchWrite(
    table,
    items.map((Item) => ({ PutRequest: { Item } })),
  );
}

type WriteRequest = { DeleteRequest: { Key: Key } } | { PutRequest: { Item: Item } };

async function batchWrite(table: string, all: readonly WriteRequest[]): Promise<void> {
  for (let i = 0; i < all.length; i += 25) {
    let requests = all.slice(i, i + 25);
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 8)
        throw new Error(`batch write on ${table}: ${requests.length} requests still unprocessed`);
      if (attempt > 0) await backoff(attempt);
      const out = await documents().send(new BatchWriteCommand({ RequestItems: { [table]: [...requests] } }));
      requests = (out.UnprocessedItems?.[table] ?? []) as WriteRequest[];
    }
  }
}

export interface GetRequest {
  readonly table: string;
  readonly keys: readonly Key[];
  /** Names of the attributes to read (keys included by the caller when it needs them). */
  readonly attributes?: readonly string[];
}

/**
 * Strongly consistent reads of keys in several tables, packed 100 keys per BatchGetItem whatever table
 * they belong to: one round trip where there would be one per table. Returns the found items per table.
 */
export async function batchGet(requests: readonly GetRequest[]): Promise<Map<string, Item[]>> {
  const found = new Map<string, Item[]>(requests.map((r) => [r.table, []]));
  const pending: { table: string; key: Key }[] = requests.flatMap((r) =>
    r.keys.map((key) => ({ table: r.table, key })),
  );
  const shapes = new Map(requests.map((r) => [r.table, r.attributes]));
  for (let i = 0; i < pending.length; i += 100) {
    let chunk = pending.slice(i, i + 100);
    for (let attempt = 0; chunk.length > 0; attempt++) {
      if (attempt > 8) throw new Error(`batchGet: ${chunk.length} keys still unprocessed`);
      if (attempt > 0) await backoff(attempt);
      const out = await documents().send(new BatchGetCommand({ RequestItems: requestItems(chunk, shapes) }));
      for (const [table, items] of Object.entries(out.Responses ?? {})) found.get(table)?.push(...items);
      chunk = Object.entries(out.UnprocessedKeys ?? {}).flatMap(([table, r]) =>
        (r.Keys ?? []).map((key) => ({ table, key })),
      );
    }
  }
  return found;
}

function requestItems(
  chunk: readonly { table: string; key: Key }[],
  shapes: ReadonlyMap<string, readonly string[] | undefined>,
) {
  const out: Record<
    string,
    {
      Keys: Key[];
      ConsistentRead: true;
      ProjectionExpression?: string;
      ExpressionAttributeNames?: Record<string, string>;
    }
  > = {};
  for (const { table, key } of chunk) {
    let entry = out[table];
    if (!entry) {
      entry = { Keys: [], ConsistentRead: true };
      const attributes = shapes.get(table);
      if (attributes) {
        // Placeholders for every name: some attribute names (e.g. "resource") are reserved words.
        entry.ProjectionExpression = attributes.map((_, n) => `#a${n}`).join(", ");
        entry.ExpressionAttributeNames = Object.fromEntries(attributes.map((a, n) => [`#a${n}`, a]));
      }
      out[table] = entry;
    }
    entry.Keys.push(key);
  }
  return out;
}
