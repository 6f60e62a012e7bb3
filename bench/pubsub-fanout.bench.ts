import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { functions } from "../infra/manifest";
import type { CallCounts } from "../shared/aws/call-counter";
import { documents } from "../shared/aws/clients";
import { tableName } from "../shared/aws/resources";
import { createAccount } from "../shared/directory/accounts";
import { putSubscription } from "../shared/pubsub/store";
import { Publisher, reading, Subscriber } from "./pubsub/raw-clients";
import type { BenchContext, Window } from "./support/context";
import { dynamoItemBytes, writeUnits } from "./support/item-size";
import type { Invocation } from "./support/recorder";
import { per, percentile } from "./support/stats";
import { type CallFigures, figures, ms, OPERATION_COLUMNS, operationRows } from "./support/summary";
import type { BenchTable } from "./support/types";

export const name = "pubsub-fanout";
export const description =
  "XEP-0060 publish → Fanout queue → PubsubFanout → Delivery queue → PubsubDelivery → subscribers (raw RFC 7395 clients, SASL PLAIN, XEP-0198), at 1, 100 and 1,000 subscribers";

// Subscribers are named so that the online ones are spread through the node's subscriber list (it is
// read in JID order): with 100 online among 1,000, every tenth recipient is online.
const PAD = 4;
const subscriberJid = (domain: string, i: number) => `fan${String(i).padStart(PAD, "0")}@${domain}`;

type Mode = "one at a time" | "sequential" | "pipelined";

interface Tier {
  readonly label: string;
  readonly node: string;
  /** Indices of the subscribers; those below `online.length` × 10 with i % 10 === 0 are online. */
  readonly subscribers: readonly number[];
  readonly online: readonly Subscriber[];
  /** Items published one at a time before the measured runs, unmeasured: the JVM's JIT warms up on them. */
  readonly warmUp: number;
  readonly runs: ReadonlyArray<Run>;
}

interface Run {
  readonly mode: Mode;
  readonly items: number;
  /**
   * false: latency only. The bench attributes AWS calls to invocations with AsyncLocalStorage, whose
   * promise hooks take about a fifth of the hub's CPU in Node 20; a run without it times the pipeline as
   * it runs outside the bench, and its call columns are left empty.
   */
  readonly attribute?: false;
}

interface Published {
  /** Item id → when its publish iq was sent, and when its answer came (performance.now()). */
  sentAt: Map<string, number>;
  answeredAt: Map<string, number>;
  refused: number;
}

interface RunResult {
  readonly tier: Tier;
  readonly mode: Mode;
  readonly attribute?: false;
  readonly items: number;
  readonly window: Window<Published>;
}

export async function run(ctx: BenchContext): Promise<BenchTable[]> {
  const q = ctx.quick;
  const service = `pubsub.${ctx.domain}`;
  const password = "bench-fanout-pw";
  const publisherAccount = await ctx.account("publisher");
  const publisher = await Publisher.login(ctx.wsUrl, publisherAccount.jid, publisherAccount.password);

  // 100 online subscribers: fan0000, fan0010, ... fan0990 (accounts made, logged in, available).
  const onlineCount = 100;
  const online: Subscriber[] = [];
  const onlineIdx = Array.from({ length: onlineCount }, (_, k) => k * 10);
  for (const i of onlineIdx) await createAccount(subscriberJid(ctx.domain, i), password);
  for (let k = 0; k < onlineIdx.length; k += 10) {
    online.push(
      ...(await Promise.all(
        onlineIdx
          .slice(k, k + 10)
          .map((i) => Subscriber.login(ctx.wsUrl, subscriberJid(ctx.domain, i), password)),
      )),
    );
  }
  await ctx.settle(500, 60_000);

  const tiers: Tier[] = [
    {
      label: "1 subscriber (online)",
      node: "bench-fanout-1",
      subscribers: [0],
      online: online.slice(0, 1),
      warmUp: 0,
      runs: [
        { mode: "one at a time", items: q ? 5 : 20 },
        { mode: "sequential", items: q ? 10 : 50 },
        { mode: "pipelined", items: q ? 10 : 50 },
      ],
    },
    {
      label: "100 subscribers (all online)",
      node: "bench-fanout-100",
      subscribers: onlineIdx,
      online,
      warmUp: q ? 1 : 30,
      runs: [
        { mode: "one at a time", items: q ? 2 : 10 },
        { mode: "one at a time", items: q ? 2 : 30, attribute: false },
        { mode: "sequential", items: q ? 3 : 10 },
        { mode: "pipelined", items: q ? 3 : 10 },
      ],
    },
    {
      label: "1,000 subscribers (100 online, 900 offline)",
      node: "bench-fanout-1000",
      subscribers: Array.from({ length: 1000 }, (_, i) => i),
      online,
      warmUp: 0,
      runs: [
        { mode: "one at a time", items: q ? 1 : 3 },
        { mode: "one at a time", items: q ? 1 : 3, attribute: false },
      ],
    },
  ];

  const results: RunResult[] = [];
  let seq = 0;
  for (const tier of tiers) {
    await publisher.createOpenNode(service, tier.node);
    // Subscriptions are written directly: how they were made is not what is measured.
    for (let k = 0; k < tier.subscribers.length; k += 25) {
      await Promise.all(
        tier.subscribers.slice(k, k + 25).map((i) =>
          putSubscription(service, tier.node, {
            jid: subscriberJid(ctx.domain, i),
            subid: `sub-${i}`,
            state: "subscribed",
            deliver: true,
          }),
        ),
      );
    }
    if (tier.warmUp > 0) {
      const ids = Array.from({ length: tier.warmUp }, () => `warm-${++seq}`);
      await publishRun(ctx, publisher, service, tier, "one at a time", ids);
    }
    for (const r of tier.runs) {
      const ids = Array.from({ length: r.items }, () => `item-${++seq}`);
      const window = await ctx.measure(
        () => publishRun(ctx, publisher, service, tier, r.mode, ids),
        // The delivery poller's next receive comes well within this after the previous invocation.
        1000,
        { attributeCalls: r.attribute !== false },
      );
      results.push({
        tier,
        mode: r.mode,
        ...(r.attribute === false ? { attribute: false } : {}),
        items: r.items,
        window,
      });
    }
  }
  const appendWru = await meanAppendWriteUnits(onlineIdx.map((i) => subscriberJid(ctx.domain, i)));
  publisher.close();
  for (const s of online) s.close();
  await ctx.settle(500, 60_000);
  return report(results, appendWru);
}

async function publishRun(
  ctx: BenchContext,
  publisher: Publisher,
  service: string,
  tier: Tier,
  mode: Mode,
  ids: readonly string[],
): Promise<Published> {
  const sentAt = new Map<string, number>();
  const answeredAt = new Map<string, number>();
  let refused = 0;
  const publishOne = async (id: string, n: number) => {
    sentAt.set(id, performance.now());
    const type = await publisher.publish(service, tier.node, id, reading(1000 + n, 1_700_000_000 + n));
    answeredAt.set(id, performance.now());
    if (type !== "result") refused++;
  };
  const allArrived = (id: string) => tier.online.every((s) => s.arrivals.has(id));
  if (mode === "pipelined") {
    await Promise.all(ids.map((id, n) => publishOne(id, n)));
  } else {
    for (const [n, id] of ids.entries()) {
      await publishOne(id, n);
      if (mode === "one at a time") {
        await until(() => allArrived(id), 120_000);
        // Offline deliveries of the item too: the next publish starts on an idle pipeline.
        await ctx.settle(1000, 300_000);
      }
    }
  }
  await until(() => ids.every(allArrived), 300_000);
  return { sentAt, answeredAt, refused };
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error("notifications still missing");
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---- figures

/** Assumed AWS list prices (us-east-1, on-demand), from memory: see BENCHMARKS.md. */
const PRICE = {
  wru: 0.625e-6,
  rru: 0.125e-6,
  sqsFifo: 0.5e-6,
  wsMessage: 1e-6,
  lambdaRequest: 0.2e-6,
  gbSecond: 0.0000166667,
};

const memoryOf = (fn: string) => functions.find((f) => f.name === fn)?.memoryMB ?? 512;

interface Parts {
  publish: Invocation[];
  fanout: Invocation[];
  delivery: Invocation[];
  subscriberFrames: Invocation[];
  other: Invocation[];
}

function parts(invocations: readonly Invocation[]): Parts {
  const p: Parts = { publish: [], fanout: [], delivery: [], subscriberFrames: [], other: [] };
  for (const inv of invocations) {
    if (inv.label === "iq set pubsub") p.publish.push(inv);
    else if (inv.label === "PubsubFanout") p.fanout.push(inv);
    else if (inv.label === "PubsubDelivery") p.delivery.push(inv);
    else if (inv.route === "$default") p.subscriberFrames.push(inv);
    else p.other.push(inv);
  }
  return p;
}

interface Derived {
  notifications: number;
  /** Publish iq round trips, ms. */
  publishMs: number[];
  /** One at a time: publish sent → the item's last delivery done (online arrival or delivery invocation end), ms. */
  completeMs: number[];
  onlineNotifications: number;
  latencies: number[];
  publishPerSecond: number;
  notificationsPerSecond: number;
  all: CallFigures;
  /** Lambda's event source mapping polls and deletes on the queues: not made by our clients, billed. */
  esmSqs: number;
  queueInvocations: number;
  wsFrames: number;
  lambdaGbSeconds: number;
  missing: number;
}

/**
 * DynamoDB Local reports no capacity for BatchExecuteStatement, the XEP-0198 queue appends of a
 * delivery; on AWS each is billed as the UpdateItem it stands for, by the size of the session item. The
 * online subscribers' session items, read once the runs are over (their queues are at staggered points
 * of the ack cycle, so their mean stands for the mean over time), give the write units of one append.
 */
async function meanAppendWriteUnits(jids: readonly string[]): Promise<number> {
  const units: number[] = [];
  for (const jid of jids) {
    const sessions = await documents().send(
      new QueryCommand({
        TableName: tableName("Sessions"),
        IndexName: "byJid",
        KeyConditionExpression: "bareJid = :j",
        ExpressionAttributeValues: { ":j": jid },
      }),
    );
    for (const s of sessions.Items ?? []) {
      const full = await documents().send(
        new GetCommand({ TableName: tableName("Sessions"), Key: { connectionId: s.connectionId } }),
      );
      if (full.Item) units.push(writeUnits(dynamoItemBytes(full.Item)));
    }
  }
  return units.length > 0 ? units.reduce((a, b) => a + b, 0) / units.length : 0;
}

function derive(r: RunResult, appendWru: number): Derived {
  const { window: w, tier } = r;
  const notifications = r.items * tier.subscribers.length;
  const latencies: number[] = [];
  let missing = 0;
  let lastArrival = 0;
  for (const [id, sent] of w.value.sentAt) {
    for (const s of tier.online) {
      const at = s.arrivals.get(id);
      if (at === undefined) missing++;
      else {
        latencies.push(at - sent);
        lastArrival = Math.max(lastArrival, at);
      }
    }
  }
  const p = parts(w.invocations);
  const firstSent = Math.min(...w.value.sentAt.values());
  const publishMs = [...w.value.sentAt].map(([id, sent]) => (w.value.answeredAt.get(id) ?? sent) - sent);
  const completeMs: number[] = [];
  if (r.mode === "one at a time") {
    // Items follow each other on an idle pipeline: an item's invocations are those until the next publish.
    const sends = [...w.value.sentAt.entries()].sort((a, b) => a[1] - b[1]);
    for (const [k, [id, sent]] of sends.entries()) {
      const until = sends[k + 1]?.[1] ?? Number.POSITIVE_INFINITY;
      const ends = p.delivery
        .filter((i) => i.startedAt >= sent && i.startedAt < until)
        .map((i) => i.startedAt + i.durationMs);
      const arrivals = tier.online.map((s) => s.arrivals.get(id) ?? sent);
      completeMs.push(Math.max(...ends, ...arrivals) - sent);
    }
  }
  const lastDelivery = Math.max(lastArrival, ...p.delivery.map((i) => i.startedAt + i.durationMs));
  const queue = [...p.fanout, ...p.delivery];
  // Per queue invocation: one ReceiveMessage that returned it and one DeleteMessageBatch (up to 10).
  const esmSqs = queue.length * 2;
  let gbs = 0;
  for (const inv of w.invocations) {
    const mem = inv.route === "queue" ? memoryOf(inv.label) : memoryOf("XmppFrame");
    gbs += (inv.durationMs / 1000) * (mem / 1024);
  }
  return {
    notifications,
    publishMs,
    completeMs,
    onlineNotifications: r.items * tier.online.length,
    latencies,
    publishPerSecond: r.items / ((Math.max(...w.value.answeredAt.values()) - firstSent) / 1000),
    notificationsPerSecond: notifications / ((lastDelivery - firstSent) / 1000),
    all: withAppends(
      figures(w.invocations.flatMap((i) => i.calls)),
      w.totals,
      r.items * tier.online.length * appendWru,
    ),
    esmSqs,
    queueInvocations: queue.length,
    wsFrames: w.invocations.filter((i) => i.route === "$default").length,
    lambdaGbSeconds: gbs,
    missing,
  };
}

const perN = (v: number, n: number) => per(v, n);
const fixed = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : "-");

/** Adds the estimated write units of the run's queue appends (one per notification to an online XEP-0198 session). */
function withAppends(f: CallFigures, totals: CallCounts, appendUnits: number): CallFigures {
  const batches = totals["DynamoDB.BatchExecuteStatement"]?.calls ?? 0;
  return batches === 0 ? f : { ...f, writeUnits: f.writeUnits + appendUnits };
}

function report(results: readonly RunResult[], appendWru: number): BenchTable[] {
  const derived = results.map((r) => ({ r, d: derive(r, appendWru) }));
  const summary: BenchTable = {
    title: "Fan-out, summary per run",
    columns: [
      "subscribers",
      "publishing",
      "items",
      "publish iq ms p50",
      "published items/s",
      "notifications/s",
      "item fully delivered ms p50",
      "latency ms p50",
      "p99",
      "max",
      "AWS calls / notif.",
      "DDB",
      "SQS (+ ESM est.)",
      "@conn",
      "DDB + SQS incl. ESM",
      "RRU / notif.",
      "WRU / notif.",
    ],
    rows: derived.map(({ r, d }) => {
      const n = d.notifications;
      const calls = d.all.dynamoCalls + d.all.sqs + d.all.posts + d.all.otherConnections;
      const counted = r.attribute !== false;
      return [
        r.tier.label,
        counted ? r.mode : `${r.mode}, latency only`,
        r.items,
        ms(percentile(d.publishMs, 50)),
        r.mode === "one at a time" ? "-" : fixed(d.publishPerSecond),
        r.mode === "one at a time"
          ? fixed(r.tier.subscribers.length / (percentile(d.completeMs, 50) / 1000))
          : fixed(d.notificationsPerSecond),
        r.mode === "one at a time" ? ms(percentile(d.completeMs, 50)) : "-",
        ms(percentile(d.latencies, 50)),
        ms(percentile(d.latencies, 99)),
        ms(percentile(d.latencies, 100)),
        ...(counted
          ? [
              perN(calls, n),
              perN(d.all.dynamoCalls, n),
              `${perN(d.all.sqs, n)} (+ ${perN(d.esmSqs, n)})`,
              perN(d.all.posts + d.all.otherConnections, n),
              perN(d.all.dynamoCalls + d.all.sqs + d.esmSqs, n),
              perN(d.all.readUnits, n),
              perN(d.all.writeUnits, n),
            ]
          : ["-", "-", "-", "-", "-", "-", "-"]),
      ];
    }),
    notes: [
      "one at a time: the next item is published once every online subscriber has the previous one and the pipeline is idle; sequential: the next publish leaves when the previous iq result arrived; pipelined: every publish iq sent at once.",
      "published items/s: items over the time from the first publish sent to the last iq result; notifications/s: notifications over the time from the first publish to the last delivery (online arrival or delivery invocation end); one at a time: subscribers over the time an item takes to be fully delivered (publish sent → its last delivery done).",
      "latency: publish iq sent → notification received, for each online subscriber and item. Calls per notification: every call in the window (publish frames, fan-out, delivery, the subscribers' XEP-0198 <a/> frames), divided by items × subscribers.",
      "ESM est.: the SQS calls Lambda's event source mapping makes for each queue invocation (one ReceiveMessage, one DeleteMessageBatch), billed but not made by our code; idle long polls not included.",
      "latency only: the same run without attributing AWS calls to invocations (AsyncLocalStorage's promise hooks take about a fifth of the hub's CPU in Node 20), so it times the pipeline as the hub runs outside the bench. The 100-subscriber node first gets unmeasured items, so that DynamoDB Local's JIT has compiled its paths, as in a hub that has been running.",
      `DynamoDB Local does not report the capacity of BatchExecuteStatement (the XEP-0198 queue appends): WRU / notif. and the cost table add an estimate, ${fixed(appendWru, 2)} WRU per append (the mean size of the online subscribers' session items, rounded up per KB, once per notification to an online session); the per-invocation tables below leave them out.`,
      ...derived
        .filter(({ r }) => r.attribute !== false && r.window.outside.length > 0)
        .map(
          ({ r }) =>
            `${r.tier.label}, ${r.mode}: ${r.window.outside.length} calls outside any invocation, not counted above`,
        ),
      ...derived
        .filter(({ d, r }) => d.missing > 0 || r.window.value.refused > 0)
        .map(
          ({ d, r }) =>
            `${r.tier.label}, ${r.mode}: ${d.missing} notifications missing, ${r.window.value.refused} publishes refused`,
        ),
    ],
  };

  const tables: BenchTable[] = [summary];
  const counted = derived.filter(({ r }) => r.mode === "one at a time" && r.attribute !== false);
  for (const { r, d } of counted) {
    tables.push(partsTable(r, d));
    tables.push({
      title: `${r.tier.label}, one at a time: AWS operations per notification`,
      columns: OPERATION_COLUMNS,
      rows: operationRows(r.window.totals, d.notifications),
    });
  }
  tables.push(costTable(counted));
  return tables;
}

function partsTable(r: RunResult, d: Derived): BenchTable {
  const p = parts(r.window.invocations);
  const n = d.notifications;
  const row = (label: string, list: readonly Invocation[]): Array<string | number> => {
    const f = figures(list.flatMap((i) => i.calls));
    const durations = list.map((i) => i.durationMs);
    return [
      label,
      perN(list.length, r.items),
      perN(f.dynamoCalls, n),
      perN(f.dynamoReads, n),
      perN(f.dynamoWrites, n),
      perN(f.dynamoConditionFailures, n),
      perN(f.readUnits, n),
      perN(f.writeUnits, n),
      perN(f.indexWriteUnits, n),
      perN(f.posts, n),
      perN(f.otherConnections, n),
      perN(f.sqs, n),
      ms(percentile(durations, 50)),
      ms(percentile(durations, 99)),
    ];
  };
  const rows = [
    row("publish iq (XmppFrame)", p.publish),
    row("PubsubFanout", p.fanout),
    row("PubsubDelivery", p.delivery),
    row("subscribers' frames (XEP-0198 <a/>)", p.subscriberFrames),
  ];
  if (p.other.length > 0) rows.push(row("other", p.other));
  rows.push(row("= all", r.window.invocations));
  return {
    title: `${r.tier.label}, one at a time (${r.items} items): where the calls go, per notification`,
    columns: [
      "invocation",
      "invocations / item",
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
    ],
    rows,
    notes: [
      `${n} notifications (${d.onlineNotifications} to online sessions); ${d.queueInvocations} queue invocations, ${d.wsFrames} WebSocket frames.`,
    ],
  };
}

function costTable(list: ReadonlyArray<{ r: RunResult; d: Derived }>): BenchTable {
  const M = 1_000_000;
  const rows = list.map(({ r, d }) => {
    const n = d.notifications;
    const f = d.all;
    const wru = f.writeUnits + f.dynamoConditionFailures;
    const ddb = (wru * PRICE.wru + f.readUnits * PRICE.rru) / n;
    const sqs = ((f.sqs + d.esmSqs) * PRICE.sqsFifo) / n;
    // API Gateway bills messages both ways: the posts out, and the subscribers' frames in.
    const ws = ((f.posts + d.wsFrames) * PRICE.wsMessage) / n;
    const lambdaRequests = ((d.queueInvocations + d.wsFrames) * PRICE.lambdaRequest) / n;
    const lambdaDuration = (d.lambdaGbSeconds * PRICE.gbSecond) / n;
    const total = ddb + sqs + ws + lambdaRequests;
    return [
      r.tier.label,
      `$${fixed(ddb * M, 2)}`,
      `$${fixed(sqs * M, 2)}`,
      `$${fixed(ws * M, 2)}`,
      `$${fixed(lambdaRequests * M, 2)}`,
      `$${fixed(total * M, 2)}`,
      `$${fixed(lambdaDuration * M, 2)}`,
    ];
  });
  return {
    title: "Cost per million delivered notifications (one at a time runs, assumed list prices)",
    columns: [
      "subscribers",
      "DynamoDB",
      "SQS (FIFO, incl. ESM)",
      "API Gateway messages",
      "Lambda requests",
      "total without Lambda duration",
      "Lambda duration (local times: upper bound)",
    ],
    rows,
    notes: [
      "Prices assumed (us-east-1, on-demand, from memory, to verify): DynamoDB $0.625 per million WRU (failed conditional writes counted at 1 WRU), $0.125 per million RRU; SQS FIFO $0.50 per million requests; API Gateway WebSocket $1.00 per million messages; Lambda $0.20 per million requests, $0.0000166667 per GB-s.",
    ],
  };
}
