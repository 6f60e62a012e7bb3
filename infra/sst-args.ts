// Manifest entries → SST component arguments, as pure functions: no SST import or global, so tests
// run them without SST or AWS. The shapes are checked against SST's own argument types where
// sst.config.ts hands sst.aws to deploy() (typechecked by infra/tsconfig.sst.json).
// Rules AWS enforces only at deploy time are checked here, where a test can see them fail.
//
// V is the type of a deployed resource's attributes (a name, a URL): Pulumi's Output<string> on
// AWS, plain strings in tests.

import {
  connectionsEndpointEnvVar,
  type FunctionDef,
  type IndexDef,
  type KeyDef,
  type KeyType,
  type QueueDef,
  queueEnvVar,
  runtime,
  type TableDef,
  type Trigger,
  tableEnvVar,
} from "./manifest";

/** What functionArgs needs of a deployed table: sst.aws.Dynamo fits, so does a test double. */
export interface TableTarget<V> {
  readonly name: V;
}
/** What queueArgs and functionArgs need of a deployed queue: sst.aws.Queue fits. */
export interface QueueTarget<V> {
  readonly arn: V;
  readonly url: V;
}
/** What functionArgs needs of the WebSocket API: sst.aws.ApiGatewayWebSocket fits. */
export interface WebSocketTarget<V> {
  readonly managementEndpoint: V;
}

/** What functionArgs needs of a secret: sst.Secret fits. */
export interface SecretTarget<V> {
  readonly value: V;
}

/** The deployed resources a function may be linked to, by their manifest names. */
export interface LinkTargets<V> {
  readonly tables: ReadonlyMap<string, TableTarget<V>>;
  readonly queues: ReadonlyMap<string, QueueTarget<V>>;
  readonly websocket: WebSocketTarget<V> | undefined;
  readonly secrets: ReadonlyMap<string, SecretTarget<V> & { readonly envVar: string }>;
  /** Deployment settings' values by environment variable: every function gets them all. */
  readonly settings?: Readonly<Record<string, string>>;
}

export type Seconds = `${number} seconds`;

export interface TableArgs {
  readonly fields: Record<string, FieldType>;
  readonly primaryIndex: KeySchema;
  readonly globalIndexes: Record<string, KeySchema & { readonly projection: "all" | string[] }>;
  readonly ttl?: string;
}

export interface QueueArgs<V> {
  readonly fifo: false | { readonly contentBasedDeduplication: boolean };
  readonly visibilityTimeout: Seconds;
  readonly dlq?: { readonly queue: V; readonly retry: number };
  readonly transform?: { readonly queue: { readonly messageRetentionSeconds: number } };
}

export interface FunctionArgs<V> {
  readonly handler: string;
  readonly runtime: typeof runtime;
  readonly timeout: Seconds;
  readonly memory: `${number} MB`;
  readonly link: (TableTarget<V> | QueueTarget<V> | WebSocketTarget<V> | SecretTarget<V>)[];
  readonly environment: Record<string, V | string>;
}

export interface SubscriberArgs {
  readonly batch: { readonly size: number; readonly window?: Seconds; readonly partialResponses: true };
  readonly transform?: {
    readonly eventSourceMapping?: { readonly scalingConfig: { readonly maximumConcurrency: number } };
  };
}

export type QueueTrigger = Extract<Trigger, { kind: "queue" }>;

const fieldTypes = { S: "string", N: "number", B: "binary" } as const satisfies Record<KeyType, string>;
type FieldType = (typeof fieldTypes)[KeyType];
type KeySchema = { readonly hashKey: string; readonly rangeKey?: string };

function keySchema(index: Pick<IndexDef, "partitionKey" | "sortKey">): KeySchema {
  return index.sortKey
    ? { hashKey: index.partitionKey.name, rangeKey: index.sortKey.name }
    : { hashKey: index.partitionKey.name };
}

export function tableArgs(def: TableDef): TableArgs {
  // DynamoDB wants attribute definitions for key attributes only, each with one type.
  const keys: KeyDef[] = [def.partitionKey, ...(def.sortKey ? [def.sortKey] : [])];
  for (const index of def.globalIndexes)
    keys.push(index.partitionKey, ...(index.sortKey ? [index.sortKey] : []));
  const fields: Record<string, FieldType> = {};
  for (const key of keys) {
    const type = fieldTypes[key.type];
    const seen = fields[key.name];
    if (seen !== undefined && seen !== type) {
      throw new Error(`infra: table ${def.name} declares key ${key.name} as both ${seen} and ${type}`);
    }
    fields[key.name] = type;
  }
  return {
    fields,
    primaryIndex: keySchema(def),
    globalIndexes: Object.fromEntries(
      def.globalIndexes.map((index) => [
        index.name,
        { ...keySchema(index), projection: index.projection ? [...index.projection] : ("all" as const) },
      ]),
    ),
    ...(def.ttlAttribute === undefined ? {} : { ttl: def.ttlAttribute }),
  };
}

/** `dlq` is the deployed dead-letter queue named by def.deadLetter (create it first). */
export function queueArgs<V>(def: QueueDef, dlq?: QueueTarget<V>): QueueArgs<V> {
  if (def.deadLetter !== undefined && dlq === undefined) {
    throw new Error(
      `infra: queue ${def.name} needs its dead-letter queue ${def.deadLetter.queue} created first`,
    );
  }
  return {
    fifo: def.fifo ? { contentBasedDeduplication: def.contentBasedDeduplication ?? false } : false,
    visibilityTimeout: `${def.visibilityTimeoutSeconds} seconds`,
    ...(def.deadLetter && dlq ? { dlq: { queue: dlq.arn, retry: def.deadLetter.maxReceiveCount } } : {}),
    // SST's Queue has no retention argument: set it on the underlying aws.sqs.Queue.
    ...(def.retentionSeconds === undefined
      ? {}
      : { transform: { queue: { messageRetentionSeconds: def.retentionSeconds } } }),
  };
}

/**
 * Queues in an order where each dead-letter queue comes before the queues that use it
 * (SQS needs the DLQ's ARN to create them). Rejects unknown DLQs, cycles, and a FIFO queue
 * with a standard DLQ or the reverse, which SQS refuses.
 */
export function queueCreationOrder(defs: readonly QueueDef[]): QueueDef[] {
  const byName = new Map(defs.map((def) => [def.name, def]));
  const ordered: QueueDef[] = [];
  const visit = (def: QueueDef, path: readonly string[]): void => {
    if (ordered.includes(def)) return;
    if (path.includes(def.name))
      throw new Error(`infra: dead-letter cycle ${[...path, def.name].join(" → ")}`);
    if (def.deadLetter) {
      const dlq = byName.get(def.deadLetter.queue);
      if (!dlq)
        throw new Error(`infra: queue ${def.name} names unknown dead-letter queue ${def.deadLetter.queue}`);
      if (dlq.fifo !== def.fifo) {
        throw new Error(
          `infra: queue ${def.name} and its dead-letter queue ${dlq.name} must both be FIFO or both not`,
        );
      }
      visit(dlq, [...path, def.name]);
    }
    ordered.push(def);
  };
  for (const def of defs) visit(def, []);
  return ordered;
}

/** SST's handler string: module path without its extension, a dot, the export. */
export function handlerString(handler: FunctionDef["handler"]): string {
  return `${handler.module.replace(/\.[cm]?[jt]sx?$/, "")}.${handler.export}`;
}

function target<R>(resources: ReadonlyMap<string, R>, kind: string, name: string, fn: string): R {
  const resource = resources.get(name);
  if (resource === undefined) throw new Error(`infra: function ${fn} uses unknown ${kind} ${name}`);
  return resource;
}

/**
 * Arguments for sst.aws.Function (or a route/subscriber handler). Each table, queue or the
 * @connections API the function uses is both linked (IAM grant) and passed as a plain
 * environment variable, which the handlers read the same way on AWS and in the local hub.
 */
export function functionArgs<V>(def: FunctionDef, targets: LinkTargets<V>): FunctionArgs<V> {
  const environment: Record<string, V | string> = { ...targets.settings };
  const link: FunctionArgs<V>["link"] = [];
  for (const name of def.tables) {
    const table = target(targets.tables, "table", name, def.name);
    environment[tableEnvVar(name)] = table.name;
    link.push(table);
  }
  for (const name of def.queues) {
    const queue = target(targets.queues, "queue", name, def.name);
    environment[queueEnvVar(name)] = queue.url;
    link.push(queue);
  }
  if (def.postsToConnections) {
    if (targets.websocket === undefined) {
      throw new Error(`infra: function ${def.name} posts to connections but there is no WebSocket API`);
    }
    environment[connectionsEndpointEnvVar] = targets.websocket.managementEndpoint;
    link.push(targets.websocket);
  }
  for (const name of def.secrets) {
    const secret = target(targets.secrets, "secret", name, def.name);
    environment[secret.envVar] = secret.value;
    link.push(secret);
  }
  return {
    handler: handlerString(def.handler),
    runtime,
    timeout: `${def.timeoutSeconds} seconds`,
    memory: `${def.memoryMB} MB`,
    link,
    environment,
  };
}

/**
 * Arguments for Queue.subscribe. Partial batch responses are always on: handlers report the
 * failed records (Powertools' processPartialResponse) so one bad message does not replay a batch.
 */
export function subscriberArgs(fn: FunctionDef, trigger: QueueTrigger, queue: QueueDef): SubscriberArgs {
  const where = `function ${fn.name} on queue ${queue.name}`;
  // Lambda refuses a mapping whose function may outlive the message's invisibility.
  if (fn.timeoutSeconds > queue.visibilityTimeoutSeconds) {
    throw new Error(
      `infra: ${where}: timeout ${fn.timeoutSeconds}s exceeds visibility ${queue.visibilityTimeoutSeconds}s`,
    );
  }
  if (queue.fifo && trigger.batchSize > 10) throw new Error(`infra: ${where}: FIFO batches hold at most 10`);
  if (queue.fifo && trigger.batchingWindowSeconds > 0) {
    throw new Error(`infra: ${where}: Lambda has no batching window on FIFO queues`);
  }
  if (!queue.fifo && trigger.batchSize > 10 && trigger.batchingWindowSeconds < 1) {
    throw new Error(`infra: ${where}: batches over 10 need a batching window of at least 1 second`);
  }
  const max = trigger.maxConcurrency;
  if (max !== undefined && (!Number.isInteger(max) || max < 2 || max > 1000)) {
    throw new Error(`infra: ${where}: maxConcurrency must be an integer from 2 to 1000 (Lambda's limits)`);
  }
  return {
    ...(max === undefined
      ? {}
      : { transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: max } } } }),
    batch: {
      size: trigger.batchSize,
      ...(trigger.batchingWindowSeconds > 0
        ? { window: `${trigger.batchingWindowSeconds} seconds` as Seconds }
        : {}),
      partialResponses: true,
    },
  };
}
