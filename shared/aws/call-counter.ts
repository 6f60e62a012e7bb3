// Counts the AWS calls this process makes, per service and operation, for benchmarks and diagnostics:
// what a frame costs on AWS is mostly how many DynamoDB, SQS and @connections requests it makes. The
// middleware sits at the SDK's "initialize" step, so a call is counted once whatever its retries.
// Always on: a map increment per call. Capacity capture, which adds ReturnConsumedCapacity: INDEXES to
// DynamoDB requests (no other effect), is off unless a benchmark turns it on.

/** One call as seen by the middleware. */
export interface AwsCall {
  /** "DynamoDB", "SQS", "ApiGatewayManagementApi". */
  readonly service: string;
  /** "GetItem", "PostToConnection", ... */
  readonly operation: string;
  /** The error's name when the call failed (e.g. "ConditionalCheckFailedException"). */
  readonly error?: string;
  /** DynamoDB capacity units the call reported (request units on on-demand tables), when captured. */
  readonly capacityUnits?: number;
  /** The part of `capacityUnits` spent on secondary indexes. */
  readonly indexCapacityUnits?: number;
}

export interface CallTally {
  calls: number;
  /** Failed calls by error name. */
  errors: Record<string, number>;
  /** Sum of the capacity units reported, when captured, and the part of it spent on secondary indexes. */
  capacityUnits: number;
  indexCapacityUnits: number;
}

/** Tallies keyed "Service.Operation". */
export type CallCounts = Record<string, CallTally>;

let counts: CallCounts = {};
const listeners = new Set<(call: AwsCall) => void>();
let captureCapacity = false;

/** A copy of the tallies since the last reset. */
export function callCounts(): CallCounts {
  return structuredClone(counts);
}

export function resetCallCounts(): void {
  counts = {};
}

/**
 * Calls `listener` with each call as it completes, in the async context of the caller (so a listener
 * can attribute it with AsyncLocalStorage). Returns the unsubscribe function.
 */
export function onAwsCall(listener: (call: AwsCall) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Asks DynamoDB to report the capacity each call consumes, per table and index. */
export function setCapacityCapture(on: boolean): void {
  captureCapacity = on;
}

function record(call: AwsCall): void {
  const key = `${call.service}.${call.operation}`;
  let tally = counts[key];
  if (!tally) {
    tally = { calls: 0, errors: {}, capacityUnits: 0, indexCapacityUnits: 0 };
    counts[key] = tally;
  }
  tally.calls += 1;
  if (call.error) tally.errors[call.error] = (tally.errors[call.error] ?? 0) + 1;
  tally.capacityUnits += call.capacityUnits ?? 0;
  tally.indexCapacityUnits += call.indexCapacityUnits ?? 0;
  for (const listener of listeners) listener(call);
}

// Operations that accept ReturnConsumedCapacity; control-plane ones (CreateTable...) refuse it.
const CAPACITY_OPERATIONS = new Set([
  "GetItem",
  "PutItem",
  "UpdateItem",
  "DeleteItem",
  "Query",
  "Scan",
  "BatchGetItem",
  "BatchWriteItem",
  "TransactGetItems",
  "TransactWriteItems",
  "ExecuteStatement",
  "BatchExecuteStatement",
]);

interface Consumed {
  CapacityUnits?: number;
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
  LocalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

function capacityOf(output: unknown): { total: number; indexes: number } | undefined {
  const consumed = (output as { ConsumedCapacity?: Consumed | Consumed[] } | undefined)?.ConsumedCapacity;
  if (consumed === undefined) return undefined;
  let total = 0;
  let indexes = 0;
  for (const c of Array.isArray(consumed) ? consumed : [consumed]) {
    total += c.CapacityUnits ?? 0;
    for (const i of [
      ...Object.values(c.GlobalSecondaryIndexes ?? {}),
      ...Object.values(c.LocalSecondaryIndexes ?? {}),
    ])
      indexes += i.CapacityUnits ?? 0;
  }
  return { total, indexes };
}

interface MiddlewareContext {
  clientName?: string;
  commandName?: string;
}

/**
 * The counting middleware, for `client.middlewareStack.add(countCalls, countCallsOptions)`. Generic
 * over the handler's argument and result so it fits any client's stack without the SDK's internal types.
 */
export function countCalls<A extends { input: unknown }, R extends { output: unknown }>(
  next: (args: A) => Promise<R>,
  context: MiddlewareContext,
): (args: A) => Promise<R> {
  const service = (context.clientName ?? "Unknown").replace(/Client$/, "");
  const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
  return async (args) => {
    const wantCapacity = captureCapacity && service === "DynamoDB" && CAPACITY_OPERATIONS.has(operation);
    const sent = wantCapacity
      ? ({ ...args, input: { ...(args.input as object), ReturnConsumedCapacity: "INDEXES" } } as A)
      : args;
    try {
      const result = await next(sent);
      const capacity = wantCapacity ? capacityOf(result.output) : undefined;
      record({ service, operation, capacityUnits: capacity?.total, indexCapacityUnits: capacity?.indexes });
      return result;
    } catch (err) {
      record({ service, operation, error: (err as Error)?.name ?? "Error" });
      throw err;
    }
  };
}

export const countCallsOptions = { step: "initialize", name: "relaisCallCounter" } as const;
