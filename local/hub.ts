import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DynamoDBClient, ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import { serve } from "@hono/node-server";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import {
  connectionsEndpointEnvVar,
  type FunctionDef,
  functions,
  queueDef,
  queueEnvVar,
  queues,
  secrets,
  tableEnvVar,
  tables,
} from "../infra/manifest";
import { ensureTenantDomain } from "../shared/directory/domains";
import { probeComponent, registerRuntimeCheck } from "../shared/health";
import {
  startWebSocketEmulator,
  type WebSocketEmulatorOptions,
  type WebSocketRoute,
  type WsRouteHandler,
} from "./apigw-websocket";
import type { HubConfig } from "./config";
import { ensureTables } from "./create-tables";
import { startDynamo } from "./dynamodb";
import { assertPortFree } from "./ports";
import { type QueuePoller, type SqsBatchHandler, startQueuePoller } from "./queue-poller";
import { startSqs } from "./sqs";
import { startTtlSweeper } from "./ttl-sweeper";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

// DynamoDB Local and the SQS emulator accept any credentials; the SDK insists on having some.
const localCredentials = { accessKeyId: "local", secretAccessKey: "local" };

/** Observation points for benchmarks and diagnostics; none changes what the hub does. */
export interface HubHooks {
  /** After each WebSocket route handler invocation (see WebSocketEmulatorOptions.onInvoke). */
  onWsInvoke?: WebSocketEmulatorOptions["onInvoke"];
  /** Wraps each WebSocket route handler, e.g. to run it in an AsyncLocalStorage scope. */
  wrapWsRoute?: (route: WebSocketRoute, handler: WsRouteHandler) => WsRouteHandler;
  /** Wraps each queue consumer (by its manifest function name), as wrapWsRoute does for WebSocket routes. */
  wrapQueueHandler?: (functionName: string, handler: SqsBatchHandler) => SqsBatchHandler;
  /** Wraps the HTTP function's fetch, as wrapWsRoute does for WebSocket routes. */
  wrapHttp?: (fetch: HttpFetch) => HttpFetch;
}

/** The HTTP function as the local server calls it: a Hono app's fetch (env: @hono/node-server's bindings). */
export type HttpFetch = (req: Request, env?: unknown) => Response | Promise<Response>;

export interface Hub {
  readonly config: HubConfig;
  readonly endpoints: { http: string; websocket: string; connections: string; dynamodb: string; sqs: string };
  stop(): Promise<void>;
}

type Handler = (...args: never[]) => unknown;

/** Imports the module and export a manifest entry names: the same code Lambda would run. */
export async function loadHandler(def: FunctionDef): Promise<Handler> {
  const mod = (await import(pathToFileURL(join(repoRoot, def.handler.module)).href)) as Record<
    string,
    unknown
  >;
  const fn = mod[def.handler.export];
  if (typeof fn !== "function") {
    throw new Error(`${def.name}: ${def.handler.module} has no exported function ${def.handler.export}`);
  }
  return fn as Handler;
}

/** A secret kept in the data directory, made on first start (on AWS, secrets come from SST's secret store). */
function localSecret(dataDir: string, name: string): string {
  mkdirSync(join(dataDir, "secrets"), { recursive: true });
  const file = join(dataDir, "secrets", name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString("base64url"), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/** What the local runtime runs, read from the manifest: exported so a test can hold both runtimes to it. */
export function localPlan() {
  return {
    websocketRoutes: functions.filter((f) => f.trigger.kind === "websocket"),
    http: functions.filter((f) => f.trigger.kind === "http"),
    queueConsumers: functions.filter((f) => f.trigger.kind === "queue"),
    tables,
    queues,
  };
}

/**
 * Starts the whole local hub in this process. Stopping it (or a failed start) releases every port and
 * child process; queued messages are saved and restored by the SQS side.
 */
export async function startHub(
  config: HubConfig,
  log: (line: string) => void = () => {},
  hooks: HubHooks = {},
): Promise<Hub> {
  const stack: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    while (stack.length > 0) {
      const next = stack.pop();
      try {
        await next?.();
      } catch (err) {
        log(`stop: ${(err as Error).message}`);
      }
    }
  };
  try {
    mkdirSync(config.dataDir, { recursive: true });
    // Check every port first: a clear error before a JVM is started for nothing.
    await assertPortFree(config.httpPort, config.host, "RELAIS_HTTP_PORT", "HTTP API");
    await assertPortFree(config.wsPort, config.host, "RELAIS_WS_PORT", "WebSocket API emulator");

    const [ddb, sqsEmu] = await Promise.all([
      startDynamo({
        dataDir: join(config.dataDir, "dynamodb"),
        port: config.dynamodbPort,
        host: config.host,
        sync: config.dynamodbSync === "full",
        notice: log,
      }),
      startSqs({
        port: config.sqsPort,
        host: config.host,
        dataDir: join(config.dataDir, "sqs"),
        region: config.region,
      }),
    ]);
    stack.push(() => ddb.stop());
    stack.push(() => sqsEmu.stop());

    const plan = localPlan();
    const wsUrl = `ws://${config.host}:${config.wsPort}`;
    const connectionsUrl = `http://${config.host}:${config.wsPort}`;
    Object.assign(process.env, {
      AWS_REGION: config.region,
      AWS_ACCESS_KEY_ID: localCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: localCredentials.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: ddb.endpoint,
      AWS_ENDPOINT_URL_SQS: sqsEmu.endpoint,
      [connectionsEndpointEnvVar]: connectionsUrl,
      RELAIS_DOMAINS: config.domains.join(","),
    });
    for (const secret of secrets) process.env[secret.envVar] = localSecret(config.dataDir, secret.name);
    for (const t of plan.tables) process.env[tableEnvVar(t.name)] = t.name;
    for (const q of plan.queues) process.env[queueEnvVar(q.name)] = sqsEmu.queueUrl(q.name);

    const ddbClient = new DynamoDBClient({
      endpoint: ddb.endpoint,
      region: config.region,
      credentials: localCredentials,
    });
    const sqsClient = new SQSClient({
      endpoint: sqsEmu.endpoint,
      region: config.region,
      credentials: localCredentials,
    });
    stack.push(async () => {
      ddbClient.destroy();
      sqsClient.destroy();
    });
    await ensureTables(ddbClient, plan.tables, (name) => name);
    await sqsEmu.ensureQueues(plan.queues);
    // Until the tenant API exists, each configured domain is a tenant of its own.
    for (const domain of config.domains) await ensureTenantDomain(`local-${domain}`, domain, domain);

    const sweeper = startTtlSweeper({
      client: ddbClient,
      tables: plan.tables.map((def) => ({ physicalName: def.name, def })),
      intervalMs: config.ttlSweepSeconds * 1000,
    });
    stack.push(() => sweeper.stop());

    const pollers: QueuePoller[] = [];
    for (const def of plan.queueConsumers) {
      if (def.trigger.kind !== "queue") continue;
      const q = queueDef(def.trigger.queue);
      const url = sqsEmu.queueUrl(q.name);
      const attrs = await sqsClient.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
      );
      const loaded = (await loadHandler(def)) as unknown as (
        e: SQSEvent,
        c: Context,
      ) => Promise<SQSBatchResponse | undefined>;
      const handler = hooks.wrapQueueHandler?.(def.name, loaded) ?? loaded;
      pollers.push(
        startQueuePoller({
          client: sqsClient,
          queueUrl: url,
          queueArn: attrs.Attributes?.QueueArn ?? `arn:aws:sqs:${config.region}:000000000000:${q.name}`,
          fifo: q.fifo,
          batchSize: def.trigger.batchSize,
          batchingWindowSeconds: def.trigger.batchingWindowSeconds,
          concurrency: ("maxConcurrency" in def.trigger ? def.trigger.maxConcurrency : undefined) ?? 1,
          handler: async (e, c) => (await handler(e, c)) ?? undefined,
          functionName: def.name,
          region: config.region,
          onError: (err) => log(`${def.name}: ${(err as Error).message}`),
        }),
      );
    }
    stack.push(async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    });

    const routes: Partial<Record<"$connect" | "$default" | "$disconnect", WsRouteHandler>> = {};
    for (const def of plan.websocketRoutes) {
      if (def.trigger.kind !== "websocket") continue;
      const handler = (await loadHandler(def)) as unknown as WsRouteHandler;
      routes[def.trigger.route] = hooks.wrapWsRoute?.(def.trigger.route, handler) ?? handler;
    }
    const ws = await startWebSocketEmulator({
      port: config.wsPort,
      host: config.host,
      routes,
      limits: {
        frameBytes: config.wsFrameBytes,
        messageBytes: config.wsMessageBytes,
        idleTimeoutMs: config.wsIdleTimeoutSeconds * 1000,
        maxConnectionMs: config.wsMaxConnectionSeconds * 1000,
      },
      onError: (err) => log(`websocket: ${(err as Error).message}`),
      onInvoke: hooks.onWsInvoke,
    });
    stack.push(() => ws.stop());

    const [httpDef] = plan.http;
    if (!httpDef) throw new Error("infra/manifest declares no HTTP function");
    const httpModule = (await import(pathToFileURL(join(repoRoot, httpDef.handler.module)).href)) as {
      app?: { fetch: HttpFetch };
    };
    const app = httpModule.app;
    if (!app) throw new Error(`${httpDef.handler.module} must export its Hono app as "app"`);
    const fetch = hooks.wrapHttp?.(app.fetch) ?? app.fetch;
    const server = await new Promise<Server>((res, rej) => {
      const s = serve({ fetch, port: config.httpPort, hostname: config.host }, () =>
        res(s as Server),
      ) as Server;
      s.once("error", rej);
    });
    stack.push(
      () =>
        new Promise<void>((res) => {
          server.closeAllConnections?.();
          server.close(() => res());
        }),
    );

    const unregister = [
      registerRuntimeCheck(() =>
        probeComponent("local:dynamodb-emulator", async () => {
          const out = await ddbClient.send(new ListTablesCommand({}));
          return `${ddb.endpoint}, ${out.TableNames?.length ?? 0} tables`;
        }),
      ),
      registerRuntimeCheck(() => probeComponent("local:sqs-emulator", async () => sqsEmu.endpoint)),
      registerRuntimeCheck(() =>
        probeComponent(
          "local:websocket-emulator",
          async () => `${ws.url}, ${ws.connectionCount()} connections`,
        ),
      ),
      registerRuntimeCheck(() =>
        probeComponent("local:queue-pollers", async () => `${pollers.length} running`),
      ),
    ];
    stack.push(async () => {
      for (const u of unregister) u();
    });

    return {
      config,
      endpoints: {
        http: `http://${config.host}:${config.httpPort}`,
        websocket: wsUrl,
        connections: connectionsUrl,
        dynamodb: ddb.endpoint,
        sqs: sqsEmu.endpoint,
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
