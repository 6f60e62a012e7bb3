import type { AwsCall, CallCounts } from "../../shared/aws/call-counter";
import type { Invocation } from "./recorder";
import { ms, per, spread } from "./stats";

// Turns recorded invocations into the rows the bench modules print.

const READS = new Set(["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"]);

export interface CallFigures {
  dynamoCalls: number;
  dynamoReads: number;
  dynamoWrites: number;
  /** Failed with ConditionalCheckFailedException (or a cancelled transaction): billed, did nothing. */
  dynamoConditionFailures: number;
  readUnits: number;
  writeUnits: number;
  /** The part of writeUnits spent keeping secondary indexes up to date. */
  indexWriteUnits: number;
  posts: number;
  otherConnections: number;
  sqs: number;
}

export function figures(calls: readonly AwsCall[]): CallFigures {
  const f: CallFigures = {
    dynamoCalls: 0,
    dynamoReads: 0,
    dynamoWrites: 0,
    dynamoConditionFailures: 0,
    readUnits: 0,
    writeUnits: 0,
    indexWriteUnits: 0,
    posts: 0,
    otherConnections: 0,
    sqs: 0,
  };
  for (const c of calls) {
    if (c.service === "DynamoDB") {
      f.dynamoCalls += 1;
      const read = READS.has(c.operation);
      if (read) f.dynamoReads += 1;
      else f.dynamoWrites += 1;
      if (c.error === "ConditionalCheckFailedException" || c.error === "TransactionCanceledException")
        f.dynamoConditionFailures += 1;
      if (read) f.readUnits += c.capacityUnits ?? 0;
      else {
        f.writeUnits += c.capacityUnits ?? 0;
        f.indexWriteUnits += c.indexCapacityUnits ?? 0;
      }
    } else if (c.service === "ApiGatewayManagementApi") {
      if (c.operation === "PostToConnection") f.posts += 1;
      else f.otherConnections += 1;
    } else if (c.service === "SQS") f.sqs += 1;
  }
  return f;
}

export const FRAME_COLUMNS = [
  "frame / route",
  "n",
  "DDB calls",
  "reads",
  "writes",
  "cond. failed",
  "RRU",
  "WRU",
  "of which GSI",
  "@conn posts",
  "@conn other",
  "SQS",
  "handler ms p50",
  "p99",
  "max",
  "overlapped",
] as const;

/** One row per kind of frame (in order of first appearance): means per invocation. */
export function frameRows(invocations: readonly Invocation[]): Array<Array<string | number>> {
  const groups = new Map<string, Invocation[]>();
  for (const inv of invocations) {
    const list = groups.get(inv.label) ?? [];
    list.push(inv);
    groups.set(inv.label, list);
  }
  return [...groups.entries()].map(([label, list]) => row(label, list, list.length));
}

/** The whole of `invocations`, divided by `units` (logins, messages). */
export function totalRow(label: string, invocations: readonly Invocation[], units: number) {
  return row(label, invocations, units);
}

function row(label: string, list: readonly Invocation[], n: number): Array<string | number> {
  const f = figures(list.flatMap((i) => i.calls));
  const t = spread(list.map((i) => i.durationMs));
  return [
    label,
    n,
    per(f.dynamoCalls, n),
    per(f.dynamoReads, n),
    per(f.dynamoWrites, n),
    per(f.dynamoConditionFailures, n),
    per(f.readUnits, n),
    per(f.writeUnits, n),
    per(f.indexWriteUnits, n),
    per(f.posts, n),
    per(f.otherConnections, n),
    per(f.sqs, n),
    t.p50,
    t.p99,
    t.max,
    list.filter((i) => i.overlapped).length,
  ];
}

/** Every AWS operation made during a window, per unit (login, message). */
export function operationRows(totals: CallCounts, units: number): Array<Array<string | number>> {
  return Object.entries(totals)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([op, t]) => [
      op,
      per(t.calls, units),
      Object.entries(t.errors)
        .map(([name, count]) => `${name} ${per(count, units)}`)
        .join(", ") || "-",
      t.capacityUnits ? per(t.capacityUnits, units) : "-",
      t.indexCapacityUnits ? per(t.indexCapacityUnits, units) : "-",
    ]);
}

export const OPERATION_COLUMNS = [
  "operation",
  "calls",
  "of which failed",
  "capacity units",
  "of which GSI",
] as const;

/** Lambda GB-seconds for `totalMs` of handler time at `memoryMB`. */
export function gbSeconds(totalMs: number, memoryMB: number): string {
  return ((totalMs / 1000) * (memoryMB / 1024)).toFixed(4);
}

export { ms };

/**
 * An invocation that found the session's lease taken and handed its frame to the holder (see
 * shared/xmpp/session/store.ts): a failed conditional acquire, then the append to `pending`, nothing else.
 */
export function isHandedOver(inv: Invocation): boolean {
  const [first, second] = inv.calls;
  return (
    inv.route === "$default" &&
    inv.calls.length === 2 &&
    first?.operation === "UpdateItem" &&
    first.error === "ConditionalCheckFailedException" &&
    second?.operation === "UpdateItem" &&
    second.error === undefined
  );
}

/** Handler time over invocations of one route, as the emulator's onInvoke reported it. */
export function routeTimings(timings: ReadonlyArray<{ route: string; durationMs: number }>, route: string) {
  const list = timings.filter((t) => t.route === route).map((t) => t.durationMs);
  return { n: list.length, total: list.reduce((a, b) => a + b, 0), ...spread(list) };
}
