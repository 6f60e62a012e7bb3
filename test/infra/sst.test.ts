import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as manifest from "../../infra/manifest";
import {
  connectionsEndpointEnvVar,
  type FunctionDef,
  type QueueDef,
  queueEnvVar,
  type TableDef,
  tableEnvVar,
} from "../../infra/manifest";
import {
  type AwsComponents,
  deploy,
  deploymentSettings,
  type Manifest,
  webSocketApiName,
} from "../../infra/sst";
import {
  type FunctionArgs,
  functionArgs,
  handlerString,
  type LinkTargets,
  type QueueArgs,
  type QueueTarget,
  type QueueTrigger,
  queueArgs,
  queueCreationOrder,
  type SecretTarget,
  type SubscriberArgs,
  subscriberArgs,
  type TableArgs,
  type TableTarget,
  tableArgs,
  type WebSocketTarget,
} from "../../infra/sst-args";

const root = resolve(import.meta.dirname, "../..");
const tables: readonly TableDef[] = manifest.tables;
const queues: readonly QueueDef[] = manifest.queues;
const functions: readonly FunctionDef[] = manifest.functions;

// Stand-ins for deployed attributes: on AWS these are Pulumi Outputs, here recognisable strings.
const tableName = (name: string) => `phys-table-${name}`;
const queueUrl = (name: string) => `https://sqs.test/${name}`;
const queueArn = (name: string) => `arn:aws:sqs:test:${name}`;
const managementEndpoint = "https://ws.test/$default";
const secretValue = (name: string) => `secret-${name}`;

function linkTargets(m: Manifest = manifest): LinkTargets<string> {
  return {
    tables: new Map(m.tables.map((t) => [t.name, { name: tableName(t.name) }])),
    queues: new Map(m.queues.map((q) => [q.name, { arn: queueArn(q.name), url: queueUrl(q.name) }])),
    websocket: { managementEndpoint },
    secrets: new Map(m.secrets.map((d) => [d.name, { value: secretValue(d.name), envVar: d.envVar }])),
  };
}

const queueFn = (trigger: Partial<QueueTrigger>, timeoutSeconds = 30): [FunctionDef, QueueTrigger] => {
  const t: QueueTrigger = { kind: "queue", queue: "Q", batchSize: 10, batchingWindowSeconds: 0, ...trigger };
  const fn: FunctionDef = {
    name: "Worker",
    handler: { module: "functions/worker/handler.ts", export: "handler" },
    trigger: t,
    timeoutSeconds,
    memoryMB: 256,
    tables: [],
    queues: [],
    postsToConnections: false,
    secrets: [],
  };
  return [fn, t];
};
const standardQueue: QueueDef = { name: "Q", fifo: false, visibilityTimeoutSeconds: 60 };
const fifoQueue: QueueDef = { name: "Q", fifo: true, visibilityTimeoutSeconds: 60 };

describe("tableArgs", () => {
  it.each(tables.map((t) => [t.name, t] as const))(
    "maps table %s: every key attribute, indexes, TTL",
    (_, def) => {
      const args = tableArgs(def);
      expect(args.primaryIndex).toEqual(
        def.sortKey
          ? { hashKey: def.partitionKey.name, rangeKey: def.sortKey.name }
          : { hashKey: def.partitionKey.name },
      );
      expect(Object.keys(args.globalIndexes).sort()).toEqual(def.globalIndexes.map((i) => i.name).sort());
      for (const index of def.globalIndexes) {
        expect(args.globalIndexes[index.name]).toMatchObject({
          hashKey: index.partitionKey.name,
          projection: index.projection ? [...index.projection] : "all",
        });
        expect(args.globalIndexes[index.name]?.rangeKey).toBe(index.sortKey?.name);
      }
      const keys = [
        def.partitionKey,
        def.sortKey,
        ...def.globalIndexes.flatMap((i) => [i.partitionKey, i.sortKey]),
      ];
      for (const key of keys) if (key) expect(args.fields[key.name]).toBeDefined();
      // DynamoDB rejects attribute definitions that no key uses.
      expect(Object.keys(args.fields).length).toBe(new Set(keys.flatMap((k) => (k ? [k.name] : []))).size);
      expect(args.ttl).toBe(def.ttlAttribute);
    },
  );

  it("gives each key attribute SST's type name, once", () => {
    const def: TableDef = {
      name: "T",
      partitionKey: { name: "pk", type: "S" },
      sortKey: { name: "n", type: "N" },
      globalIndexes: [
        { name: "byBlob", partitionKey: { name: "blob", type: "B" } },
        { name: "byPk", partitionKey: { name: "pk", type: "S" }, sortKey: { name: "n", type: "N" } },
      ],
    };
    expect(tableArgs(def)).toEqual({
      fields: { pk: "string", n: "number", blob: "binary" },
      primaryIndex: { hashKey: "pk", rangeKey: "n" },
      globalIndexes: {
        byBlob: { hashKey: "blob", projection: "all" },
        byPk: { hashKey: "pk", rangeKey: "n", projection: "all" },
      },
    });
  });

  it("refuses a key attribute declared with two types", () => {
    const def: TableDef = {
      name: "T",
      partitionKey: { name: "pk", type: "S" },
      globalIndexes: [{ name: "g", partitionKey: { name: "pk", type: "N" } }],
    };
    expect(() => tableArgs(def)).toThrow(/pk as both string and number/);
  });
});

describe("queueArgs and queueCreationOrder", () => {
  it.each(queues.map((q) => [q.name, q] as const))("maps queue %s with its DLQ and retention", (_, def) => {
    const dlqName = def.deadLetter?.queue;
    const args = queueArgs(def, dlqName ? { arn: queueArn(dlqName), url: queueUrl(dlqName) } : undefined);
    expect(args.fifo).toEqual(
      def.fifo ? { contentBasedDeduplication: def.contentBasedDeduplication ?? false } : false,
    );
    expect(args.visibilityTimeout).toBe(`${def.visibilityTimeoutSeconds} seconds`);
    expect(args.dlq).toEqual(
      def.deadLetter
        ? { queue: queueArn(def.deadLetter.queue), retry: def.deadLetter.maxReceiveCount }
        : undefined,
    );
    expect(args.transform?.queue.messageRetentionSeconds).toBe(def.retentionSeconds);
  });

  it("puts every dead-letter queue before the queues using it", () => {
    const order = queueCreationOrder(queues).map((q) => q.name);
    expect([...order].sort()).toEqual(queues.map((q) => q.name).sort());
    for (const q of queues) {
      if (q.deadLetter) expect(order.indexOf(q.deadLetter.queue)).toBeLessThan(order.indexOf(q.name));
    }
    const reversed = [...queues].reverse();
    const reorder = queueCreationOrder(reversed).map((q) => q.name);
    for (const q of queues) {
      if (q.deadLetter) expect(reorder.indexOf(q.deadLetter.queue)).toBeLessThan(reorder.indexOf(q.name));
    }
  });

  it("refuses a missing DLQ, an unknown DLQ, a cycle and a FIFO/standard mix", () => {
    const a: QueueDef = {
      name: "A",
      fifo: true,
      visibilityTimeoutSeconds: 30,
      deadLetter: { queue: "B", maxReceiveCount: 3 },
    };
    const b: QueueDef = {
      name: "B",
      fifo: true,
      visibilityTimeoutSeconds: 30,
      deadLetter: { queue: "A", maxReceiveCount: 3 },
    };
    expect(() => queueArgs(a)).toThrow(/dead-letter queue B created first/);
    expect(() => queueCreationOrder([a])).toThrow(/unknown dead-letter queue B/);
    expect(() => queueCreationOrder([a, b])).toThrow(/cycle A → B → A/);
    expect(() => queueCreationOrder([a, { name: "B", fifo: false, visibilityTimeoutSeconds: 30 }])).toThrow(
      /both be FIFO/,
    );
  });
});

describe("functionArgs", () => {
  it.each(functions.map((f) => [f.name, f] as const))("maps function %s", (_, def) => {
    const args = functionArgs(def, linkTargets());
    expect(args.runtime).toBe("nodejs20.x");
    expect(args.handler).toBe(`${def.handler.module.replace(/\.ts$/, "")}.${def.handler.export}`);
    expect(args.timeout).toBe(`${def.timeoutSeconds} seconds`);
    expect(args.memory).toBe(`${def.memoryMB} MB`);
    const expectedEnv: Record<string, string> = {};
    const expectedLinks: object[] = [];
    for (const t of def.tables) {
      expectedEnv[tableEnvVar(t)] = tableName(t);
      expectedLinks.push({ name: tableName(t) });
    }
    for (const q of def.queues) {
      expectedEnv[queueEnvVar(q)] = queueUrl(q);
      expectedLinks.push({ arn: queueArn(q), url: queueUrl(q) });
    }
    if (def.postsToConnections) {
      expectedEnv[connectionsEndpointEnvVar] = managementEndpoint;
      expectedLinks.push({ managementEndpoint });
    }
    for (const name of def.secrets) {
      const secret = manifest.secrets.find((d) => d.name === name);
      if (!secret) throw new Error(`function ${def.name} names unknown secret ${name}`);
      expectedEnv[secret.envVar] = secretValue(name);
      expectedLinks.push({ value: secretValue(name), envVar: secret.envVar });
    }
    expect(args.environment).toEqual(expectedEnv);
    expect(args.link).toEqual(expectedLinks);
  });

  it("strips the module's extension from SST's handler string", () => {
    expect(handlerString({ module: "functions/http-api/handler.ts", export: "handler" })).toBe(
      "functions/http-api/handler.handler",
    );
    expect(handlerString({ module: "functions/a.b/x.mts", export: "run" })).toBe("functions/a.b/x.run");
  });

  it("refuses a function using a resource the manifest does not declare", () => {
    const [fn] = queueFn({});
    expect(() => functionArgs({ ...fn, tables: ["Nope"] }, linkTargets())).toThrow(
      /Worker uses unknown table Nope/,
    );
    expect(() => functionArgs({ ...fn, queues: ["Nope"] }, linkTargets())).toThrow(
      /Worker uses unknown queue Nope/,
    );
    expect(() =>
      functionArgs({ ...fn, postsToConnections: true }, { ...linkTargets(), websocket: undefined }),
    ).toThrow(/no WebSocket API/);
  });
});

describe("subscriberArgs", () => {
  it.each(functions.flatMap((f) => (f.trigger.kind === "queue" ? [[f.name, f, f.trigger] as const] : [])))(
    "maps the queue trigger of %s with partial batch responses",
    (_, def, trigger) => {
      const args = subscriberArgs(def, trigger, manifest.queueDef(trigger.queue));
      expect(args.batch.size).toBe(trigger.batchSize);
      expect(args.batch.partialResponses).toBe(true);
      expect(args.batch.window).toBe(
        trigger.batchingWindowSeconds > 0 ? `${trigger.batchingWindowSeconds} seconds` : undefined,
      );
    },
  );

  it("passes a batching window only when there is one", () => {
    expect(subscriberArgs(...queueFn({ batchSize: 100, batchingWindowSeconds: 5 }), standardQueue)).toEqual({
      batch: { size: 100, window: "5 seconds", partialResponses: true },
    });
    expect(subscriberArgs(...queueFn({ batchSize: 10 }), fifoQueue)).toEqual({
      batch: { size: 10, partialResponses: true },
    });
  });

  it("refuses what Lambda's event source mapping would refuse at deploy time", () => {
    expect(() => subscriberArgs(...queueFn({}, 61), standardQueue)).toThrow(
      /timeout 61s exceeds visibility 60s/,
    );
    expect(() => subscriberArgs(...queueFn({ batchSize: 11 }), fifoQueue)).toThrow(/at most 10/);
    expect(() => subscriberArgs(...queueFn({ batchingWindowSeconds: 1 }), fifoQueue)).toThrow(
      /no batching window/,
    );
    expect(() => subscriberArgs(...queueFn({ batchSize: 11 }), standardQueue)).toThrow(/at least 1 second/);
    expect(() => subscriberArgs(...queueFn({ maxConcurrency: 1 }), fifoQueue)).toThrow(/from 2 to 1000/);
  });

  it("caps the event source's concurrency when the manifest says so", () => {
    expect(subscriberArgs(...queueFn({ batchSize: 1, maxConcurrency: 8 }), fifoQueue)).toEqual({
      transform: { eventSourceMapping: { scalingConfig: { maximumConcurrency: 8 } } },
      batch: { size: 1, partialResponses: true },
    });
  });
});

// AWS cannot be reached from here, so deploy() runs against doubles of the sst.aws components that
// record what they are given; that SST's real components accept these arguments is checked by the
// compiler (sst.config.ts passes sst.aws to deploy; infra/tsconfig.sst.json).
function recordingAws() {
  const record = {
    tables: [] as { name: string; args: TableArgs }[],
    queues: [] as { name: string; args: QueueArgs<string> }[],
    subscriptions: [] as { queue: string; subscriber: FunctionArgs<string>; args: SubscriberArgs }[],
    apis: [] as string[],
    routes: [] as { route: string; handler: FunctionArgs<string> }[],
    functions: [] as { name: string; args: FunctionArgs<string> & { url: true } }[],
    // The components themselves, which functions must be linked to.
    targets: { tables: new Map(), queues: new Map(), websocket: undefined, secrets: new Map() } as {
      tables: Map<string, TableTarget<string>>;
      queues: Map<string, QueueTarget<string>>;
      websocket: WebSocketTarget<string> | undefined;
      secrets: Map<string, SecretTarget<string> & { envVar: string }>;
    },
  };
  const aws: AwsComponents<string> = {
    Dynamo: class {
      readonly name: string;
      constructor(name: string, args: TableArgs) {
        record.tables.push({ name, args });
        record.targets.tables.set(name, this);
        this.name = tableName(name);
      }
    },
    Queue: class {
      readonly arn: string;
      readonly url: string;
      constructor(
        readonly logicalName: string,
        args: QueueArgs<string>,
      ) {
        record.queues.push({ name: logicalName, args });
        record.targets.queues.set(logicalName, this);
        this.arn = queueArn(logicalName);
        this.url = queueUrl(logicalName);
      }
      subscribe(subscriber: FunctionArgs<string>, args: SubscriberArgs) {
        record.subscriptions.push({ queue: this.logicalName, subscriber, args });
      }
    },
    ApiGatewayWebSocket: class {
      readonly url = "wss://ws.test/$default";
      readonly managementEndpoint = managementEndpoint;
      constructor(name: string) {
        record.apis.push(name);
        record.targets.websocket = this;
      }
      route(route: string, handler: FunctionArgs<string>) {
        record.routes.push({ route, handler });
      }
    },
    Function: class {
      readonly url: string;
      constructor(name: string, args: FunctionArgs<string> & { url: true }) {
        record.functions.push({ name, args });
        this.url = `https://${name}.lambda-url.test/`;
      }
    },
  };
  // sst.Secret's stand-in; deploy() tags each with its environment variable.
  const Secret = class {
    readonly value: string;
    constructor(name: string) {
      this.value = secretValue(name);
      record.targets.secrets.set(name, this as unknown as SecretTarget<string> & { envVar: string });
    }
  };
  return { aws, Secret, record };
}

function expectOneComponentPerEntry(m: Manifest) {
  const { aws, Secret, record } = recordingAws();
  const outputs = deploy(aws, Secret, m);

  expect(record.tables.map((t) => t.name).sort()).toEqual(m.tables.map((t) => t.name).sort());
  for (const t of record.tables)
    expect(t.args).toEqual(tableArgs(m.tables.find((d) => d.name === t.name) as TableDef));

  const created = record.queues.map((q) => q.name);
  expect([...created].sort()).toEqual(m.queues.map((q) => q.name).sort());
  for (const q of m.queues) {
    const args = record.queues.find((r) => r.name === q.name)?.args;
    if (q.deadLetter) {
      expect(created.indexOf(q.deadLetter.queue)).toBeLessThan(created.indexOf(q.name));
      expect(args?.dlq).toEqual({ queue: queueArn(q.deadLetter.queue), retry: q.deadLetter.maxReceiveCount });
    }
  }

  const byKind = (kind: FunctionDef["trigger"]["kind"]) => m.functions.filter((f) => f.trigger.kind === kind);
  const targets = record.targets;
  expect(record.apis).toEqual([webSocketApiName]);
  expect(record.routes).toEqual(
    byKind("websocket").map((f) => ({
      route: f.trigger.kind === "websocket" && f.trigger.route,
      handler: functionArgs(f, targets),
    })),
  );
  expect(record.functions).toEqual(
    byKind("http").map((f) => ({ name: f.name, args: { ...functionArgs(f, targets), url: true } })),
  );
  expect(record.subscriptions).toEqual(
    byKind("queue").map((f) => {
      const trigger = f.trigger as QueueTrigger;
      return {
        queue: trigger.queue,
        subscriber: functionArgs(f, targets),
        args: subscriberArgs(f, trigger, m.queues.find((q) => q.name === trigger.queue) as QueueDef),
      };
    }),
  );
  expect(outputs).toEqual({
    [webSocketApiName]: "wss://ws.test/$default",
    ...Object.fromEntries(byKind("http").map((f) => [f.name, `https://${f.name}.lambda-url.test/`])),
  });
  return record;
}

describe("deployment settings", () => {
  it("passes the settings set where sst deploy runs to every function, and leaves the others unset", () => {
    const values = deploymentSettings({
      RELAIS_BASE_DOMAIN: "relais.example",
      RELAIS_SIGNUP_CODE: "",
      PATH: "/bin",
    });
    expect(values).toEqual({ RELAIS_BASE_DOMAIN: "relais.example" });
    const { aws, Secret, record } = recordingAws();
    deploy(aws, Secret, manifest, values);
    const every = [
      ...record.routes.map((r) => r.handler),
      ...record.functions.map((f) => f.args),
      ...record.subscriptions.map((q) => q.subscriber),
    ];
    expect(every).toHaveLength(functions.length);
    for (const args of every) {
      expect(args.environment.RELAIS_BASE_DOMAIN).toBe("relais.example");
      expect(args.environment).not.toHaveProperty("RELAIS_SIGNUP_CODE");
    }
  });

  it("declares every RELAIS_ variable the functions' code reads", async () => {
    // A setting read in shared/ or functions/ but not declared would silently keep its default on AWS.
    const { readdir, readFile } = await import("node:fs/promises");
    const files = (await readdir("shared", { recursive: true }))
      .map((f) => `shared/${f}`)
      .concat((await readdir("functions", { recursive: true })).map((f) => `functions/${f}`))
      .filter((f) => f.endsWith(".ts"));
    const read = new Set<string>();
    for (const f of files) {
      for (const m of (await readFile(f, "utf8")).matchAll(
        /process\.env\.(RELAIS_[A-Z0-9_]+)|"(RELAIS_[A-Z0-9_]+)"/g,
      )) {
        read.add((m[1] ?? m[2]) as string);
      }
    }
    const declared = new Set<string>([
      ...manifest.settings.map((x) => x.envVar),
      ...manifest.secrets.map((x) => x.envVar),
      // Local only: the hub's domain list, a fallback of the base domain.
      "RELAIS_DOMAINS",
    ]);
    expect(
      [...read].filter((v) => !declared.has(v) && !/^RELAIS_(TABLE|QUEUE)_|^RELAIS_WS_MANAGEMENT/.test(v)),
    ).toEqual([]);
    expect(read.size).toBeGreaterThan(10);
  });
});

describe("deploy", () => {
  it("creates one component per manifest entry and one route or subscription per trigger", () => {
    const record = expectOneComponentPerEntry(manifest);
    expect(record.routes.length + record.functions.length + record.subscriptions.length).toBe(
      functions.length,
    );
  });

  it("deploys whatever is added to the manifest, with no other change", () => {
    const extended: Manifest = {
      secrets: manifest.secrets,
      settings: manifest.settings,
      tables: [...tables, { name: "Audit", partitionKey: { name: "id", type: "S" }, globalIndexes: [] }],
      queues: [
        // Listed before its DLQ on purpose: deploy must still create the DLQ first.
        {
          name: "Exports",
          fifo: false,
          visibilityTimeoutSeconds: 120,
          deadLetter: { queue: "ExportsDlq", maxReceiveCount: 3 },
        },
        { name: "ExportsDlq", fifo: false, visibilityTimeoutSeconds: 30 },
        ...queues,
      ],
      functions: [
        ...functions,
        {
          ...queueFn({ queue: "Exports", batchSize: 50, batchingWindowSeconds: 2 }, 60)[0],
          tables: ["Audit"],
          queues: ["Exports"],
        },
        { ...queueFn({})[0], name: "AdminApi", trigger: { kind: "http" }, tables: ["Audit"] },
      ],
    };
    const record = expectOneComponentPerEntry(extended);
    expect(record.subscriptions.find((s) => s.queue === "Exports")?.subscriber.environment).toEqual({
      [tableEnvVar("Audit")]: tableName("Audit"),
      [queueEnvVar("Exports")]: queueUrl("Exports"),
    });
  });

  it("refuses two functions on one WebSocket route", () => {
    const ws = functions.find((f) => f.trigger.kind === "websocket");
    if (!ws) throw new Error("the manifest has no WebSocket function");
    const { aws, Secret } = recordingAws();
    expect(() => deploy(aws, Secret, { ...manifest, functions: [ws, { ...ws, name: "Twin" }] })).toThrow(
      /handled twice \(Twin\)/,
    );
  });
});

describe("handler modules", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  // Fails until the handler exists: SST would only find out while bundling, mid-deploy.
  it.each(functions.map((f) => [f.name, f] as const))("%s names an exported function", async (_, def) => {
    const file = resolve(root, def.handler.module);
    expect(existsSync(file), `${def.handler.module} exists`).toBe(true);
    // What the function gets on Lambda, in case the module reads its configuration when loaded.
    vi.stubEnv("AWS_REGION", "eu-west-3");
    for (const t of tables) vi.stubEnv(tableEnvVar(t.name), tableName(t.name));
    for (const q of queues) vi.stubEnv(queueEnvVar(q.name), queueUrl(q.name));
    vi.stubEnv(connectionsEndpointEnvVar, managementEndpoint);
    const mod: Record<string, unknown> = await import(pathToFileURL(file).href);
    expect(typeof mod[def.handler.export]).toBe("function");
  });
});
