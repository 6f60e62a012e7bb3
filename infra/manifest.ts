// The one declaration of Relais's cloud resources. `sst.config.ts` (through infra/sst.ts) deploys it
// to AWS; the local hub (local/) emulates it in one process. Both import this file and nothing
// else describes a table, a queue or a function: adding one here is the whole change.
//
// Pure data on purpose: no SST or AWS imports, so the local runtime and the tests can read it
// without the SST platform being installed.

export type KeyType = "S" | "N" | "B";

export interface KeyDef {
  readonly name: string;
  readonly type: KeyType;
}

export interface IndexDef {
  readonly name: string;
  readonly partitionKey: KeyDef;
  readonly sortKey?: KeyDef;
  /**
   * Non-key attributes copied into the index (INCLUDE); absent: all of them. A write that changes
   * only attributes left out does not write the index: fewer write units on busy items.
   */
  readonly projection?: readonly string[];
}

export interface TableDef {
  /** Logical name; the physical name is given to functions as RELAIS_TABLE_<NAME>. */
  readonly name: string;
  readonly partitionKey: KeyDef;
  readonly sortKey?: KeyDef;
  readonly globalIndexes: readonly IndexDef[];
  /** Attribute holding an expiry in epoch seconds, honoured by DynamoDB TTL. */
  readonly ttlAttribute?: string;
}

export interface QueueDef {
  /** Logical name; the URL is given to functions as RELAIS_QUEUE_<NAME>_URL. FIFO queues end in nothing: the ".fifo" suffix is added where the physical name is made. */
  readonly name: string;
  readonly fifo: boolean;
  /** FIFO only: deduplicate on a hash of the body when no deduplication id is given. */
  readonly contentBasedDeduplication?: boolean;
  readonly visibilityTimeoutSeconds: number;
  /** Where a message goes after it was received maxReceiveCount times without being deleted. */
  readonly deadLetter?: { readonly queue: string; readonly maxReceiveCount: number };
  readonly retentionSeconds?: number;
}

export type WebSocketRoute = "$connect" | "$default" | "$disconnect";

export type Trigger =
  | { readonly kind: "websocket"; readonly route: WebSocketRoute }
  | { readonly kind: "http" }
  | {
      readonly kind: "queue";
      readonly queue: string;
      readonly batchSize: number;
      /** Seconds the event source waits to fill a batch (Lambda's MaximumBatchingWindowInSeconds). */
      readonly batchingWindowSeconds: number;
      /**
       * Invocations the event source may run at once (Lambda's ScalingConfig.MaximumConcurrency, 2 to
       * 1000); the local hub runs as many poll loops. Unset: Lambda scales on its own, locally one loop.
       * On a FIFO queue, a message group is never in two invocations at once, whatever this says.
       */
      readonly maxConcurrency?: number;
    };

export interface FunctionDef {
  readonly name: string;
  /** Path from the repository root to the module, and the export Lambda invokes. */
  readonly handler: { readonly module: string; readonly export: string };
  readonly trigger: Trigger;
  readonly timeoutSeconds: number;
  readonly memoryMB: number;
  /** Resources the function may use; each becomes an environment variable and an IAM grant. */
  readonly tables: readonly string[];
  readonly queues: readonly string[];
  /** Whether it may post to WebSocket connections through the @connections API. */
  readonly postsToConnections: boolean;
  /** Secrets (see `secrets`) the function reads from its environment. */
  readonly secrets: readonly string[];
}

export interface SecretDef {
  /** Logical name: an SST secret (`sst secret set <name> <value>`) on AWS, a file in the data directory locally. */
  readonly name: string;
  /** The environment variable that carries it to functions. */
  readonly envVar: string;
}

export const secrets = [
  // Keys the fake SCRAM salts of unknown accounts: must be stable, or a probe could tell who exists.
  { name: "SaslSecret", envVar: "RELAIS_SASL_SECRET" },
  // Each tenant's Ed25519 key for consent receipts and audit checkpoints is derived from it (HKDF).
  { name: "SigningSecret", envVar: "RELAIS_SIGNING_SECRET" },
  // Seals webhook endpoints' signing secrets at rest (shared/webhooks/secrets.ts): must be stable, or
  // the stored secrets no longer open.
  { name: "WebhookSecretKey", envVar: "RELAIS_WEBHOOK_SECRET_KEY" },
] as const satisfies readonly SecretDef[];

export interface SettingDef {
  /** The environment variable the functions read (unset: the code's default). */
  readonly envVar: string;
  readonly what: string;
}

/**
 * Deployment settings: plain environment variables, the same for every function (each reads those it
 * needs). Locally they come from the hub's environment; on AWS, `sst deploy` passes those set in its
 * own environment (see infra/sst.ts deploymentSettings).
 */
export const settings = [
  { envVar: "RELAIS_BASE_DOMAIN", what: "tenants signing up get <slug>.<base domain>" },
  { envVar: "RELAIS_SIGNUP_CODE", what: "when set, sign-up needs this code (open sign-up otherwise)" },
  { envVar: "RELAIS_CONSENT_MAX_DAYS", what: "longest validity of a consent (default 1095)" },
  { envVar: "RELAIS_OFFLINE_MAX", what: "messages kept per offline account (XEP-0160)" },
  { envVar: "RELAIS_SM_RESUME_SECONDS", what: "how long a XEP-0198 session waits to be resumed" },
  { envVar: "RELAIS_FRAME_REORDER_MS", what: "how long a frame waits for frames received before it" },
  { envVar: "RELAIS_WEBHOOK_ALLOW_HOSTS", what: "hosts exempt from the SSRF check (development only)" },
  { envVar: "RELAIS_WEBHOOK_ALLOW_HTTP", what: "accept http:// endpoint URLs (development only)" },
  { envVar: "RELAIS_WEBHOOK_TIMEOUT_MS", what: "one webhook attempt's deadline" },
  { envVar: "RELAIS_WEBHOOK_BACKOFF_BASE_MS", what: "webhook retry backoff base" },
  { envVar: "RELAIS_WEBHOOK_BACKOFF_MAX_SECONDS", what: "webhook retry backoff cap" },
  { envVar: "RELAIS_WEBHOOK_RETRY_SECONDS", what: "how long a webhook delivery is retried" },
  { envVar: "RELAIS_WEBHOOK_MAX_ATTEMPTS", what: "webhook attempts before parking" },
  { envVar: "RELAIS_WEBHOOK_ENDPOINT_CONCURRENCY", what: "webhook attempts in flight per endpoint" },
] as const satisfies readonly SettingDef[];

/** Lambda runtime for every function: SST would otherwise pick its own default. */
export const runtime = "nodejs20.x" as const;

export const tables = [
  {
    // One item per live WebSocket connection: the XMPP stream's state, keyed by connection id.
    name: "Sessions",
    partitionKey: { name: "connectionId", type: "S" },
    globalIndexes: [
      {
        name: "byJid",
        partitionKey: { name: "bareJid", type: "S" },
        sortKey: { name: "resource", type: "S" },
        // What routing and presence read of an account's sessions; the XEP-0198 queue, the lease and
        // the frames handed over are left out, so that their writes (one per notification, two per
        // frame) do not rewrite the index too.
        projection: [
          "st",
          "available",
          "priority",
          "smEnabled",
          "detached",
          "detachedAt",
          "smBase",
          "connectedAt",
          "expiresAt",
        ],
      },
    ],
    ttlAttribute: "expiresAt",
  },
  {
    // Tenants, domains, accounts, rosters, offline messages: one table, keys prefixed by kind.
    name: "Directory",
    partitionKey: { name: "pk", type: "S" },
    sortKey: { name: "sk", type: "S" },
    globalIndexes: [
      { name: "gsi1", partitionKey: { name: "gsi1pk", type: "S" }, sortKey: { name: "gsi1sk", type: "S" } },
    ],
    ttlAttribute: "expiresAt",
  },
  {
    // PubSub (XEP-0060) data streams: nodes, their items, subscriptions and affiliations; keys in shared/pubsub/keys.ts.
    // Items carry expiresAt from the node's pubsub#item_expire (retention limits, enforced by TTL).
    name: "Streams",
    partitionKey: { name: "pk", type: "S" },
    sortKey: { name: "sk", type: "S" },
    globalIndexes: [
      { name: "gsi1", partitionKey: { name: "gsi1pk", type: "S" }, sortKey: { name: "gsi1sk", type: "S" } },
    ],
    ttlAttribute: "expiresAt",
  },
  {
    // Consent records, the grants fan-out checks, and the tamper-evident audit log (hash chains per
    // data subject, signed checkpoints); keys in shared/consent/layout.ts.
    name: "Consents",
    partitionKey: { name: "pk", type: "S" },
    sortKey: { name: "sk", type: "S" },
    globalIndexes: [
      { name: "gsi1", partitionKey: { name: "gsi1pk", type: "S" }, sortKey: { name: "gsi1sk", type: "S" } },
    ],
    ttlAttribute: "expiresAt",
  },
] as const satisfies readonly TableDef[];

export const queues = [
  {
    name: "SessionExpiryDlq",
    fifo: false,
    visibilityTimeoutSeconds: 30,
    retentionSeconds: 14 * 24 * 3600,
  },
  {
    // A detached XEP-0198 session, to be ended if its client has not resumed it by the time this is received.
    name: "SessionExpiry",
    fifo: false,
    visibilityTimeoutSeconds: 60,
    deadLetter: { queue: "SessionExpiryDlq", maxReceiveCount: 5 },
    retentionSeconds: 24 * 3600,
  },
  {
    name: "FanoutDlq",
    fifo: true,
    visibilityTimeoutSeconds: 60,
    retentionSeconds: 14 * 24 * 3600,
  },
  {
    // One job per published item (and per further page of its subscribers). Message group = the
    // stream, so a stream's items fan out in publish order; deduplication id = the item (and page).
    name: "Fanout",
    fifo: true,
    visibilityTimeoutSeconds: 60,
    deadLetter: { queue: "FanoutDlq", maxReceiveCount: 5 },
    retentionSeconds: 4 * 24 * 3600,
  },
  {
    name: "DeliveryDlq",
    fifo: true,
    visibilityTimeoutSeconds: 60,
    retentionSeconds: 14 * 24 * 3600,
  },
  {
    // Notifications of one item to up to 50 subscribers per message; grouped by stream and subscriber
    // shard (shared/fanout/jobs.ts), so one item's deliveries run side by side, each subscriber's in order.
    name: "Delivery",
    fifo: true,
    visibilityTimeoutSeconds: 60,
    deadLetter: { queue: "DeliveryDlq", maxReceiveCount: 5 },
    retentionSeconds: 4 * 24 * 3600,
  },
  {
    name: "WebhooksDlq",
    fifo: false,
    visibilityTimeoutSeconds: 60,
    retentionSeconds: 14 * 24 * 3600,
  },
  {
    // One attempt of one webhook delivery per message. Standard, not FIFO: a retry's backoff is the
    // message's own DelaySeconds, which FIFO queues do not allow. Visibility outlasts the function's
    // timeout plus an attempt's lease (shared/webhooks/deliver.ts), so a message back from a dead run
    // takes its attempt over. Deliveries given up on go to the DynamoDB dead-letter store, not here:
    // this DLQ only catches messages that keep failing to be processed at all.
    name: "Webhooks",
    fifo: false,
    visibilityTimeoutSeconds: 180,
    deadLetter: { queue: "WebhooksDlq", maxReceiveCount: 10 },
    retentionSeconds: 4 * 24 * 3600,
  },
] as const satisfies readonly QueueDef[];

export const functions = [
  {
    name: "XmppConnect",
    handler: { module: "functions/xmpp-ws/handler.ts", export: "connect" },
    trigger: { kind: "websocket", route: "$connect" },
    timeoutSeconds: 10,
    memoryMB: 512,
    tables: ["Sessions", "Directory"],
    queues: [],
    postsToConnections: false,
    secrets: [],
  },
  {
    name: "XmppFrame",
    handler: { module: "functions/xmpp-ws/handler.ts", export: "frame" },
    trigger: { kind: "websocket", route: "$default" },
    timeoutSeconds: 10,
    memoryMB: 512,
    tables: ["Sessions", "Directory", "Streams", "Consents"],
    queues: ["Fanout"],
    postsToConnections: true,
    secrets: ["SaslSecret", "SigningSecret"],
  },
  {
    name: "XmppDisconnect",
    handler: { module: "functions/xmpp-ws/handler.ts", export: "disconnect" },
    trigger: { kind: "websocket", route: "$disconnect" },
    timeoutSeconds: 10,
    memoryMB: 512,
    tables: ["Sessions", "Directory"],
    queues: ["SessionExpiry"],
    postsToConnections: true,
    secrets: [],
  },
  {
    name: "XmppSessionExpiry",
    handler: { module: "functions/xmpp-session-expiry/handler.ts", export: "handler" },
    trigger: { kind: "queue", queue: "SessionExpiry", batchSize: 10, batchingWindowSeconds: 0 },
    timeoutSeconds: 30,
    memoryMB: 512,
    tables: ["Sessions", "Directory"],
    queues: [],
    postsToConnections: true,
    secrets: [],
  },
  {
    name: "HttpApi",
    handler: { module: "functions/http-api/handler.ts", export: "handler" },
    trigger: { kind: "http" },
    timeoutSeconds: 30,
    memoryMB: 512,
    tables: ["Sessions", "Directory", "Streams", "Consents"],
    // Ingest publishes through the same path as XMPP, which hands items to fan-out; redelivery of a
    // webhook goes back on its queue.
    queues: ["Fanout", "Webhooks"],
    // Disabling or deleting an account closes its open XMPP sessions.
    postsToConnections: true,
    // SaslSecret: the data subject's door (/v1/me) checks XMPP passwords as PLAIN does.
    secrets: ["SaslSecret", "SigningSecret", "WebhookSecretKey"],
  },
  {
    name: "PubsubFanout",
    handler: { module: "functions/pubsub-fanout/handler.ts", export: "handler" },
    trigger: { kind: "queue", queue: "Fanout", batchSize: 10, batchingWindowSeconds: 0 },
    timeoutSeconds: 50,
    memoryMB: 512,
    tables: ["Streams", "Directory"],
    queues: ["Fanout", "Delivery", "Webhooks"],
    postsToConnections: false,
    secrets: [],
  },
  {
    name: "PubsubDelivery",
    handler: { module: "functions/pubsub-delivery/handler.ts", export: "handler" },
    // One message per invocation: a FIFO batch is processed in order, so batching would put an item's
    // shards back in one line. A message already carries up to 50 notifications.
    trigger: { kind: "queue", queue: "Delivery", batchSize: 1, batchingWindowSeconds: 0, maxConcurrency: 8 },
    timeoutSeconds: 50,
    memoryMB: 512,
    tables: ["Streams", "Sessions", "Directory", "Consents"],
    queues: ["SessionExpiry"],
    postsToConnections: true,
    secrets: ["SigningSecret"],
  },
  {
    name: "WebhookDelivery",
    handler: { module: "functions/webhook-delivery/handler.ts", export: "handler" },
    // Several invocations at once, each running its batch side by side: a slow endpoint holds its own
    // concurrency slots (RELAIS_WEBHOOK_ENDPOINT_CONCURRENCY), not the queue.
    trigger: { kind: "queue", queue: "Webhooks", batchSize: 10, batchingWindowSeconds: 0, maxConcurrency: 4 },
    timeoutSeconds: 60,
    memoryMB: 256,
    tables: ["Directory"],
    queues: ["Webhooks"],
    postsToConnections: false,
    secrets: ["WebhookSecretKey"],
  },
] as const satisfies readonly FunctionDef[];

export type TableName = (typeof tables)[number]["name"];
export type QueueName = (typeof queues)[number]["name"];

/** Environment variable that carries a table's physical name to a function. */
export const tableEnvVar = (name: string): string => `RELAIS_TABLE_${name.toUpperCase()}`;
/** Environment variable that carries a queue's URL to a function. */
export const queueEnvVar = (name: string): string => `RELAIS_QUEUE_${name.toUpperCase()}_URL`;
/** Environment variable that carries the @connections endpoint to functions that post to sockets. */
export const connectionsEndpointEnvVar = "RELAIS_WS_MANAGEMENT_ENDPOINT";

export function queueDef(name: string): QueueDef {
  const q = (queues as readonly QueueDef[]).find((x) => x.name === name);
  if (!q) throw new Error(`infra/manifest: no queue named ${name}`);
  return q;
}

export function tableDef(name: string): TableDef {
  const t = (tables as readonly TableDef[]).find((x) => x.name === name);
  if (!t) throw new Error(`infra/manifest: no table named ${name}`);
  return t;
}
