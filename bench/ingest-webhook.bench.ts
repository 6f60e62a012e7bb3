import { DEFAULT_CONFIG } from "../shared/pubsub/config";
import { listDeliveries } from "../shared/webhooks";
import { burst, closedLoop, type LoadRequest, once, type Sent } from "./ingest/load";
import { type BenchTenant, setUpTenant } from "./ingest/tenant";
import { startWebhookReceiver, type WebhookReceiver } from "./ingest/webhook-receiver";
import type { BenchContext, Window } from "./support/context";
import type { Invocation } from "./support/recorder";
import { per, percentile } from "./support/stats";
import { figures, ms, OPERATION_COLUMNS, operationRows } from "./support/summary";
import type { BenchTable } from "./support/types";

export const name = "ingest-webhook";
export const description =
  "HTTP ingest (POST /v1/streams/{id}/items, SenML JSON, ingest key) → Fanout queue → PubsubFanout → Webhooks queue → WebhookDelivery → a local receiver checking Standard Webhooks signatures";

const INGEST = "POST /v1/streams/{id}/items";

interface Load {
  readonly connections: number;
  readonly durationMs: number;
  /** Each request carries its own Idempotency-Key (a claim and a completion in DynamoDB more). */
  readonly idempotency: boolean;
}

type Mode = "one at a time" | "pipelined";

interface Posted {
  /** Every request, in the order answered. */
  readonly sent: Sent[];
  /** Item id of each accepted request → when it was sent. */
  readonly items: Map<string, number>;
  /** From the first request sent to the last answer read. */
  readonly loadMs: number;
}

interface ThroughputRun {
  readonly load: Load;
  readonly window: Window<Posted>;
}

interface LatencyRun {
  readonly mode: Mode;
  readonly posts: number;
  readonly window: Window<Posted>;
}

export async function run(ctx: BenchContext): Promise<BenchTable[]> {
  const q = ctx.quick;
  const restore = allowLoopbackWebhooks();
  const receiver = await startWebhookReceiver();
  let tenant: BenchTenant | undefined;
  try {
    tenant = await setUpTenant(ctx.hub.endpoints.http, receiver.url);
    receiver.setSecret(tenant.secret);
    await ctx.settle(300, 30_000);

    const loads: Load[] = q
      ? [
          { connections: 10, durationMs: 2000, idempotency: false },
          { connections: 10, durationMs: 2000, idempotency: true },
        ]
      : [
          { connections: 1, durationMs: 10_000, idempotency: false },
          { connections: 10, durationMs: 10_000, idempotency: false },
          { connections: 50, durationMs: 10_000, idempotency: false },
          { connections: 10, durationMs: 10_000, idempotency: true },
        ];
    let seq = 0;
    const request = (idempotency: boolean): LoadRequest => pack(tenant as BenchTenant, ++seq, idempotency);

    // Warm-up, not measured: the first requests pay for module loading and JIT, and a stream holding
    // fewer than its max items (pubsub#max_items) skips the trimming every later publish does. Filled
    // past it, every measured pack is in the steady state of a meter's stream.
    for (let k = 0; k < DEFAULT_CONFIG.maxItems + 10; k += 10) {
      const warm = accepted(await burst(Array.from({ length: 10 }, () => request(false))), 0);
      await deliveredOrIdle(ctx, receiver, warm);
    }
    await ctx.settle(500, 60_000);

    const throughput: ThroughputRun[] = [];
    for (const load of loads) {
      const window = await ctx.measure(async () => {
        const out = await closedLoop({
          connections: load.connections,
          durationMs: load.durationMs,
          request: () => request(load.idempotency),
        });
        const posted = accepted(out.sent, out.wallMs);
        await deliveredOrIdle(ctx, receiver, posted);
        return posted;
      }, 1000);
      throughput.push({ load, window });
    }

    const latency: LatencyRun[] = [];
    for (const [mode, posts] of [
      ["one at a time", q ? 5 : 30],
      ["pipelined", q ? 10 : 50],
    ] as const) {
      const window = await ctx.measure(async () => {
        const t0 = performance.now();
        const sent: Sent[] = [];
        if (mode === "pipelined") {
          sent.push(...(await burst(Array.from({ length: posts }, () => request(false)))));
        } else {
          for (let n = 0; n < posts; n++) {
            const { url, init } = request(false);
            const one = await once(url, init);
            sent.push(one);
            await deliveredOrIdle(ctx, receiver, accepted([one], 0));
            // The next pack starts on an idle pipeline: nothing of this one is still running.
            await ctx.settle(300, 30_000);
          }
        }
        const posted = accepted(sent, performance.now() - t0);
        await deliveredOrIdle(ctx, receiver, posted);
        return posted;
      }, 1000);
      latency.push({ mode, posts, window });
    }
    return report(throughput, latency, receiver, await deliveryLog(tenant));
  } finally {
    await tenant?.close();
    await receiver.close();
    restore();
  }
}

/**
 * The receiver listens on 127.0.0.1 over plain http, which the SSRF guard refuses: the bench sets the
 * two development settings the webhook functions read from their environment (this process runs them),
 * and puts back what was there after.
 */
function allowLoopbackWebhooks(): () => void {
  const settings = { RELAIS_WEBHOOK_ALLOW_HOSTS: "127.0.0.1", RELAIS_WEBHOOK_ALLOW_HTTP: "1" };
  const before = Object.fromEntries(Object.keys(settings).map((k) => [k, process.env[k]]));
  Object.assign(process.env, settings);
  return () => {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** The n-th pack: one record, a fresh value and time, as a meter would send every few seconds. */
function pack(tenant: BenchTenant, n: number, idempotency: boolean): LoadRequest {
  const headers: Record<string, string> = {
    authorization: `Bearer ${tenant.ingestKey}`,
    "content-type": "application/senml+json",
  };
  if (idempotency) headers["idempotency-key"] = `bench-${n}`;
  const body = JSON.stringify([
    { bn: "urn:dev:bench:meter-1_", bt: 1_700_000_000 + n, n: "power", u: "W", v: 1000 + (n % 500) },
  ]);
  return { url: tenant.itemsUrl, init: { method: "POST", headers, body } };
}

function accepted(sent: Sent[], loadMs: number): Posted {
  const items = new Map<string, number>();
  for (const s of sent) {
    const itemId = (s.body as { itemId?: unknown } | undefined)?.itemId;
    if (s.status === 201 && typeof itemId === "string") items.set(itemId, s.sentAt);
  }
  return { sent, items, loadMs };
}

/** How long the hub must be idle before packs still not delivered are given up on (and counted). */
const IDLE_MS = 3000;

/**
 * Waits until the receiver has every accepted pack, or until the hub has been idle for IDLE_MS with some
 * still missing: a pack can be lost on the way (see the "lost" note of the tables), and a delivery whose
 * attempt failed waits for its backoff; both are counted, not waited for.
 */
async function deliveredOrIdle(ctx: BenchContext, receiver: WebhookReceiver, posted: Posted): Promise<void> {
  let idle = false;
  ctx.settle(IDLE_MS, 600_000).then(
    () => {
      idle = true;
    },
    () => {
      idle = true;
    },
  );
  while (!idle && missingOf(receiver, posted).length > 0) await new Promise((r) => setTimeout(r, 5));
}

const missingOf = (receiver: WebhookReceiver, posted: Posted): string[] =>
  [...posted.items.keys()].filter((id) => !receiver.arrivals.has(id));

/** Item id → status of its delivery in the endpoint's delivery log. */
async function deliveryLog(tenant: BenchTenant): Promise<Map<string, string>> {
  const log = new Map<string, string>();
  let cursor: string | undefined;
  do {
    const page = await listDeliveries(tenant.tenantId, tenant.endpointId, {
      limit: 100,
      ...(cursor ? { cursor } : {}),
    });
    if (!page.ok) throw new Error(`delivery log: ${page.error.detail}`);
    for (const d of page.value.deliveries) log.set(d.itemId, d.status);
    cursor = page.value.cursor;
  } while (cursor);
  return log;
}

// ---- figures

/** POST sent → the receiver has the verified delivery, per accepted item. */
function endToEnd(posted: Posted, receiver: WebhookReceiver): number[] {
  const out: number[] = [];
  for (const [id, sentAt] of posted.items) {
    const at = receiver.arrivals.get(id);
    if (at !== undefined) out.push(at - sentAt);
  }
  return out;
}

/** "3 (no delivery made 2, pending 1)": accepted packs the receiver never got, by delivery-log status. */
function missingCell(posted: Posted, receiver: WebhookReceiver, log: ReadonlyMap<string, string>): string {
  const missing = missingOf(receiver, posted);
  if (missing.length === 0) return "0";
  const by = new Map<string, number>();
  for (const id of missing) {
    const status = log.get(id) ?? "no delivery made";
    by.set(status, (by.get(status) ?? 0) + 1);
  }
  return `${missing.length} (${[...by].map(([k, v]) => `${k} ${v}`).join(", ")})`;
}

const fixed = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "-");

interface Parts {
  ingest: Invocation[];
  fanout: Invocation[];
  webhook: Invocation[];
  other: Invocation[];
}

function parts(invocations: readonly Invocation[]): Parts {
  const p: Parts = { ingest: [], fanout: [], webhook: [], other: [] };
  for (const inv of invocations) {
    if (inv.route === "http" && inv.label === INGEST) p.ingest.push(inv);
    else if (inv.label === "PubsubFanout") p.fanout.push(inv);
    else if (inv.label === "WebhookDelivery") p.webhook.push(inv);
    else p.other.push(inv);
  }
  return p;
}

/** SQS calls Lambda's event source mapping makes per queue invocation: one receive, one delete batch. */
const esm = (list: readonly Invocation[]) => 2 * list.filter((i) => i.route === "queue").length;

function report(
  throughput: readonly ThroughputRun[],
  latency: readonly LatencyRun[],
  receiver: WebhookReceiver,
  log: ReadonlyMap<string, string>,
): BenchTable[] {
  const throughputTable: BenchTable = {
    title: "Ingest throughput: closed loop, SenML JSON packs of one record, ingest key",
    columns: [
      "connections",
      "Idempotency-Key",
      "seconds",
      "requests",
      "201/s",
      "answer ms p50",
      "p99",
      "max",
      "errors",
      "ingest handler: DDB / ingest",
      "SQS / ingest",
      "RRU",
      "WRU",
      "pipeline: AWS calls / item (+ ESM est.)",
      "webhooks/s",
      "POST → webhook ms p50",
      "p99",
      "webhooks missing",
    ],
    rows: throughput.map(({ load, window: w }) => {
      const v = w.value;
      const n = v.items.size;
      const answers = v.sent.map((s) => s.answeredAt - s.sentAt);
      const p = parts(w.invocations);
      const h = figures(p.ingest.flatMap((i) => i.calls));
      const all = figures(w.invocations.flatMap((i) => i.calls));
      const e2e = endToEnd(v, receiver);
      const firstSent = Math.min(...v.items.values());
      const lastArrival = Math.max(...[...v.items.keys()].map((id) => receiver.arrivals.get(id) ?? 0));
      const delivered = e2e.length;
      return [
        load.connections,
        load.idempotency ? "yes" : "no",
        fixed(v.loadMs / 1000),
        v.sent.length,
        fixed(n / (v.loadMs / 1000)),
        ms(percentile(answers, 50)),
        ms(percentile(answers, 99)),
        ms(percentile(answers, 100)),
        v.sent.length - n,
        per(h.dynamoCalls, n),
        per(h.sqs, n),
        per(h.readUnits, n),
        per(h.writeUnits, n),
        `${per(all.dynamoCalls + all.sqs, n)} (+ ${per(esm(w.invocations), n)})`,
        fixed(delivered / ((lastArrival - firstSent) / 1000)),
        ms(percentile(e2e, 50)),
        ms(percentile(e2e, 99)),
        missingCell(v, receiver, log),
      ];
    }),
    notes: [
      "connections: workers each holding one request in flight, the next sent as soon as the answer is read (fetch, keep-alive); 201/s: accepted packs over the time from the first request sent to the last answer; answer ms: request sent → answer read, every request; errors: answers other than 201 (and network errors).",
      "ingest handler: the calls of the HTTP function's invocations for POST /v1/streams/{id}/items, per accepted pack: reads of the key, the tenant, the stream and (to trim past pubsub#max_items) its item index; writes of the daily count, the item and the trim; the Fanout message; with Idempotency-Key the claim and its completion too.",
      "pipeline: every DynamoDB and SQS call of the window (ingest, PubsubFanout, WebhookDelivery), per accepted pack; ESM est.: the SQS calls Lambda's event source mapping would make per queue invocation (one ReceiveMessage, one DeleteMessageBatch), billed but not made by our code.",
      "webhooks/s: deliveries received over the time from the first POST to the last delivery received; the pipeline keeps delivering after the load stops (the window waits for every delivery, or for the hub to be idle 3 s). POST → webhook: per delivered pack, under that load.",
      "webhooks missing: accepted packs (201) whose delivery the receiver never got, by the status of their delivery in the endpoint's delivery log; 'no delivery made' means PubsubFanout made none (see BENCHMARKS.md: the item was trimmed by pubsub#max_items before its fan-out ran).",
      ...errorNotes(throughput.map((t) => [`${t.load.connections} connections`, t.window.value] as const)),
      ...outsideNotes(throughput.map((t) => [`${t.load.connections} connections`, t.window] as const)),
    ],
  };

  const latencyTable: BenchTable = {
    title: "Ingest → webhook latency",
    columns: [
      "posting",
      "packs",
      "answer ms p50",
      "p99",
      "POST → webhook ms p50",
      "p99",
      "max",
      "AWS calls / webhook",
      "DDB",
      "SQS (+ ESM est.)",
      "RRU",
      "WRU",
      "queue invocations / webhook",
      "webhooks missing",
    ],
    rows: latency.map(({ mode, posts, window: w }) => {
      const v = w.value;
      const n = v.items.size;
      const all = figures(w.invocations.flatMap((i) => i.calls));
      const e2e = endToEnd(v, receiver);
      const answers = v.sent.map((s) => s.answeredAt - s.sentAt);
      return [
        mode,
        posts,
        ms(percentile(answers, 50)),
        ms(percentile(answers, 99)),
        ms(percentile(e2e, 50)),
        ms(percentile(e2e, 99)),
        ms(percentile(e2e, 100)),
        per(all.dynamoCalls + all.sqs, n),
        per(all.dynamoCalls, n),
        `${per(all.sqs, n)} (+ ${per(esm(w.invocations), n)})`,
        per(all.readUnits, n),
        per(all.writeUnits, n),
        per(w.invocations.filter((i) => i.route === "queue").length, n),
        missingCell(v, receiver, log),
      ];
    }),
    notes: [
      "one at a time: the next pack is POSTed once the receiver has the previous one and the hub is idle; pipelined: every POST sent at once. POST → webhook: from the request sent to the receiver having read the whole delivery and checked its signature (one process, one clock).",
      `receiver: ${receiver.refused()} requests refused (bad signature or body), ${receiver.repeats()} repeated webhook-ids, over the whole module.`,
      ...errorNotes(latency.map((l) => [l.mode, l.window.value] as const)),
      ...outsideNotes(latency.map((l) => [l.mode, l.window] as const)),
    ],
  };

  const tables = [throughputTable, latencyTable];
  const busiest = throughput
    .filter((t) => !t.load.idempotency)
    .sort((a, b) => b.load.connections - a.load.connections)[0];
  if (busiest) {
    const n = busiest.window.value.items.size;
    tables.push(
      partsTable(
        `${busiest.load.connections} connections (${n} packs): where the calls and the time go, per ingested pack`,
        busiest.window,
        n,
      ),
    );
  }
  const oneAtATime = latency.find((l) => l.mode === "one at a time");
  if (oneAtATime) {
    const n = oneAtATime.window.value.items.size;
    tables.push(
      partsTable(
        `One at a time (${n} packs): where the calls and the time go, per delivered webhook`,
        oneAtATime.window,
        n,
      ),
    );
    tables.push({
      title: `One at a time (${n} packs): AWS operations per delivered webhook`,
      columns: OPERATION_COLUMNS,
      rows: operationRows(oneAtATime.window.totals, n),
    });
  }
  const idem = throughput.find((t) => t.load.idempotency);
  if (idem) {
    const n = idem.window.value.items.size;
    tables.push({
      title: `${idem.load.connections} connections with Idempotency-Key (${n} packs): AWS operations per ingested pack`,
      columns: OPERATION_COLUMNS,
      rows: operationRows(idem.window.totals, n),
    });
  }
  return tables;
}

function partsTable(title: string, window: Window<Posted>, n: number): BenchTable {
  const p = parts(window.invocations);
  const row = (label: string, list: readonly Invocation[]): Array<string | number> => {
    const f = figures(list.flatMap((i) => i.calls));
    const durations = list.map((i) => i.durationMs);
    return [
      label,
      per(list.length, n),
      per(f.dynamoCalls, n),
      per(f.dynamoReads, n),
      per(f.dynamoWrites, n),
      per(f.dynamoConditionFailures, n),
      per(f.readUnits, n),
      per(f.writeUnits, n),
      per(f.indexWriteUnits, n),
      per(f.sqs, n),
      ms(percentile(durations, 50)),
      ms(percentile(durations, 99)),
    ];
  };
  const rows = [
    row(`ingest (HttpApi ${INGEST})`, p.ingest),
    row("PubsubFanout", p.fanout),
    row("WebhookDelivery", p.webhook),
  ];
  if (p.other.length > 0)
    rows.push(row(`other (${[...new Set(p.other.map((i) => i.label))].join(", ")})`, p.other));
  rows.push(row("= all", window.invocations));
  return {
    title,
    columns: [
      "invocation",
      "invocations / pack",
      "DDB calls",
      "reads",
      "writes",
      "cond. failed",
      "RRU",
      "WRU",
      "of which GSI",
      "SQS",
      "handler ms p50",
      "p99",
    ],
    rows,
    notes: [
      "handler ms: for the HTTP function, until its Response is returned (the body is then written by @hono/node-server).",
    ],
  };
}

function errorNotes(runs: ReadonlyArray<readonly [string, Posted]>): string[] {
  return runs.flatMap(([label, v]) => {
    const failed = v.sent.filter((s) => s.status !== 201);
    if (failed.length === 0) return [];
    const byStatus = new Map<number, number>();
    for (const s of failed) byStatus.set(s.status, (byStatus.get(s.status) ?? 0) + 1);
    const first = failed[0]?.body;
    return [
      `${label}: ${failed.length} errors (${[...byStatus].map(([s, c]) => `${s === 0 ? "network" : `HTTP ${s}`} ×${c}`).join(", ")}), first: ${JSON.stringify(first).slice(0, 200)}`,
    ];
  });
}

function outsideNotes(runs: ReadonlyArray<readonly [string, Window<Posted>]>): string[] {
  return runs
    .filter(([, w]) => w.outside.length > 0)
    .map(([label, w]) => `${label}: ${w.outside.length} calls outside any invocation, not counted above`);
}
