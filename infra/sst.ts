// Creates Relais's AWS resources from infra/manifest.ts. sst.config.ts's run() calls
// deploy(sst.aws): the SST components come in as an argument rather than as globals, so this file
// typechecks with the rest of the project (SST's platform types would pull Bun's and a second
// Node's globals into it) and tests can hand it recording doubles. That sst.aws fits
// AwsComponents, i.e. that SST accepts every argument built here, is checked in sst.config.ts.

import type { FunctionDef, QueueDef, SecretDef, SettingDef, TableDef } from "./manifest";
import * as manifest from "./manifest";
import {
  type FunctionArgs,
  functionArgs,
  type QueueArgs,
  type QueueTarget,
  queueArgs,
  queueCreationOrder,
  type SecretTarget,
  type SubscriberArgs,
  subscriberArgs,
  type TableArgs,
  type TableTarget,
  tableArgs,
  type WebSocketTarget,
} from "./sst-args";

export interface Manifest {
  readonly secrets: readonly SecretDef[];
  readonly settings: readonly SettingDef[];
  readonly tables: readonly TableDef[];
  readonly queues: readonly QueueDef[];
  readonly functions: readonly FunctionDef[];
}

/** The part of `sst.aws` deploy() uses; V is what resource attributes are (Output<string> on AWS). */
export interface AwsComponents<V> {
  readonly Dynamo: new (name: string, args: TableArgs) => TableTarget<V>;
  readonly Queue: new (
    name: string,
    args: QueueArgs<V>,
  ) => QueueTarget<V> & { subscribe(subscriber: FunctionArgs<V>, args: SubscriberArgs): unknown };
  readonly ApiGatewayWebSocket: new (
    name: string,
  ) => WebSocketTarget<V> & { readonly url: V; route(route: string, handler: FunctionArgs<V>): unknown };
  readonly Function: new (name: string, args: FunctionArgs<V> & { url: true }) => { readonly url: V };
}

/** sst.Secret, which lives outside sst.aws. */
export type SecretComponent<V> = new (name: string) => SecretTarget<V>;

/** The declared settings set in `env` (the environment `sst deploy` runs in): the others keep their defaults. */
export function deploymentSettings(
  env: Readonly<Record<string, string | undefined>>,
  m: Pick<Manifest, "settings"> = manifest,
): Record<string, string> {
  return settingValues(m.settings, env);
}

function settingValues(
  defs: readonly SettingDef[],
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of defs) {
    const v = env[d.envVar];
    if (v !== undefined && v !== "") out[d.envVar] = v;
  }
  return out;
}

/** Logical name of the WebSocket API that carries XMPP (RFC 7395) streams. */
export const webSocketApiName = "Xmpp";

/**
 * Creates every table, queue and function of the manifest with its trigger (WebSocket route,
 * function URL, queue subscription). Returns the app's outputs: the WebSocket URL and each HTTP
 * function's URL, keyed by logical name.
 */
export function deploy<V>(
  aws: AwsComponents<V>,
  Secret: SecretComponent<V>,
  m: Manifest = manifest,
  values: Readonly<Record<string, string>> = {},
): Record<string, V> {
  const secrets = new Map(
    m.secrets.map((def) => [def.name, Object.assign(new Secret(def.name), { envVar: def.envVar })]),
  );
  const tables = new Map(m.tables.map((def) => [def.name, new aws.Dynamo(def.name, tableArgs(def))]));

  const queueDefs = new Map(m.queues.map((def) => [def.name, def]));
  const queues = new Map<string, InstanceType<AwsComponents<V>["Queue"]>>();
  for (const def of queueCreationOrder(m.queues)) {
    const dlq = def.deadLetter && queues.get(def.deadLetter.queue);
    queues.set(def.name, new aws.Queue(def.name, queueArgs(def, dlq)));
  }

  const needsWebSocket = m.functions.some((f) => f.trigger.kind === "websocket" || f.postsToConnections);
  const websocket = needsWebSocket ? new aws.ApiGatewayWebSocket(webSocketApiName) : undefined;
  const outputs: Record<string, V> = {};
  if (websocket) outputs[webSocketApiName] = websocket.url;

  const targets = { tables, queues, websocket, secrets, settings: settingValues(m.settings, values) };
  const routes = new Set<string>();
  for (const def of m.functions) {
    const args = functionArgs(def, targets);
    const trigger = def.trigger;
    switch (trigger.kind) {
      case "websocket":
        // Checked here: two handlers on one route would only fail half-way through a deploy.
        if (!websocket || routes.has(trigger.route)) {
          throw new Error(`infra: WebSocket route ${trigger.route} is handled twice (${def.name})`);
        }
        routes.add(trigger.route);
        websocket.route(trigger.route, args);
        break;
      case "http":
        outputs[def.name] = new aws.Function(def.name, { ...args, url: true }).url;
        break;
      case "queue": {
        const queue = queues.get(trigger.queue);
        const queueDef = queueDefs.get(trigger.queue);
        if (!queue || !queueDef) {
          throw new Error(`infra: function ${def.name} is triggered by unknown queue ${trigger.queue}`);
        }
        queue.subscribe(args, subscriberArgs(def, trigger, queueDef));
        break;
      }
    }
  }
  return outputs;
}
