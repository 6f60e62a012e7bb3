// DynamoDB Local accepts UpdateTimeToLive but never deletes anything; this sweeper plays the part of
// AWS's background TTL process so that local tables do not grow without bound.
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  paginateScan,
} from "@aws-sdk/client-dynamodb";
import type { TableDef } from "../infra/manifest";
import { epochSeconds } from "../shared/storage/ttl";

export interface TtlSweeperOptions {
  client: DynamoDBClient;
  tables: { physicalName: string; def: TableDef }[];
  intervalMs: number;
  /** Clock in epoch milliseconds, like Date.now (the default). */
  now?: () => number;
  /** Where a failed periodic sweep is reported; it does not stop the next one. */
  log?: (line: string) => void;
}

export interface TtlSweeper {
  /** Deletes the items expired now; resolves to how many it deleted. */
  sweepOnce(): Promise<number>;
  /** Stops the timer and waits for a sweep in flight. */
  stop(): Promise<void>;
}

// AWS skips items whose TTL lies more than five years in the past; the sweeper does the same so
// local behaviour does not hide that surprise.
const MAX_AGE_SECONDS = 5 * 365 * 24 * 3600;
// Deletes in flight at once: enough to clear a backlog, few enough not to starve the hub's own calls.
const DELETE_CONCURRENCY = 16;
// Items per Scan page. DynamoDB Local runs every request on one SQLite thread: a default 1 MB page is
// one long job that stalls the hub's own requests behind it (a fan-out's tail latency showed it).
const SCAN_PAGE_ITEMS = 100;

export function startTtlSweeper(opts: TtlSweeperOptions): TtlSweeper {
  const now = opts.now ?? Date.now;
  const log = opts.log ?? ((line: string) => console.warn(line));
  const swept = opts.tables.flatMap(({ physicalName, def }) =>
    def.ttlAttribute ? [{ physicalName, def, attribute: def.ttlAttribute }] : [],
  );

  // Sweeps run one after another, whether started by the timer or by sweepOnce.
  let tail: Promise<unknown> = Promise.resolve();
  const sweepOnce = (): Promise<number> => {
    const run = tail.then(async () => {
      let deleted = 0;
      for (const table of swept) deleted += await sweepTable(opts.client, table, epochSeconds(now()));
      return deleted;
    });
    tail = run.catch(() => {});
    return run;
  };

  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const schedule = () => {
    if (stopped) return;
    const next = setTimeout(() => {
      sweepOnce()
        .catch((err: unknown) =>
          log(`ttl-sweeper: sweep failed: ${err instanceof Error ? err.message : String(err)}`),
        )
        .finally(schedule);
    }, opts.intervalMs);
    // The sweeper is housekeeping: it must never be what keeps the process alive.
    next.unref();
    timer = next;
  };
  schedule();

  return {
    sweepOnce,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await tail;
    },
  };
}

async function sweepTable(
  client: DynamoDBClient,
  table: { physicalName: string; def: TableDef; attribute: string },
  nowSeconds: number,
): Promise<number> {
  const keyNames = [table.def.partitionKey.name, ...(table.def.sortKey ? [table.def.sortKey.name] : [])];
  const ttlName = { "#ttl": table.attribute };
  const keyPlaceholders = Object.fromEntries(keyNames.map((k, i) => [`#k${i}`, k]));
  const expired = "#ttl < :now AND #ttl >= :oldest";
  const values: Record<string, AttributeValue> = {
    ":now": { N: String(nowSeconds) },
    ":oldest": { N: String(nowSeconds - MAX_AGE_SECONDS) },
  };

  let deleted = 0;
  const pages = paginateScan(
    { client },
    {
      TableName: table.physicalName,
      ProjectionExpression: Object.keys(keyPlaceholders).join(", "),
      FilterExpression: expired,
      ExpressionAttributeNames: { ...ttlName, ...keyPlaceholders },
      ExpressionAttributeValues: values,
      ConsistentRead: true,
      Limit: SCAN_PAGE_ITEMS,
    },
  );
  for await (const page of pages) {
    const keys = page.Items ?? [];
    for (let i = 0; i < keys.length; i += DELETE_CONCURRENCY) {
      const batch = keys.slice(i, i + DELETE_CONCURRENCY);
      const results = await Promise.all(
        batch.map((key) => deleteIfStillExpired(client, table.physicalName, key, expired, ttlName, values)),
      );
      deleted += results.filter(Boolean).length;
    }
  }
  return deleted;
}

async function deleteIfStillExpired(
  client: DynamoDBClient,
  tableName: string,
  key: Record<string, AttributeValue>,
  condition: string,
  names: Record<string, string>,
  values: Record<string, AttributeValue>,
): Promise<boolean> {
  try {
    await client.send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: key,
        // The item may have been refreshed (or removed) since the scan read it.
        ConditionExpression: condition,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
