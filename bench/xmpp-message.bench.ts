import type { BenchContext, Window } from "./support/context";
import type { Invocation } from "./support/recorder";
import { mean, spread } from "./support/stats";
import {
  FRAME_COLUMNS,
  figures,
  frameRows,
  gbSeconds,
  isHandedOver,
  OPERATION_COLUMNS,
  operationRows,
  routeTimings,
  totalRow,
} from "./support/summary";
import type { BenchTable } from "./support/types";

export const name = "xmpp-message";
export const description =
  "chat messages between two online @xmpp/client accounts (both available, XEP-0198 enabled), to the receiver's bare JID";

export async function run(ctx: BenchContext): Promise<BenchTable[]> {
  const isolatedCount = ctx.quick ? 3 : 20;
  const streamCount = ctx.quick ? 10 : 200;
  const alice = await ctx.account("alice");
  const bob = await ctx.account("bob");
  for (const [key, a] of [
    ["alice", alice],
    ["bob", bob],
  ] as const) {
    await ctx.clients.login(key, { service: ctx.wsUrl, ...a, rosterAndPresence: true });
  }

  const chat = (count: number, gapMs: number) =>
    ctx.measure(() => ctx.clients.chat({ from: "alice", to: "bob", toJid: bob.jid, count, gapMs }));
  // A pause longer than @xmpp/client's 250 ms debounce: each message is followed by the sender's <r/>.
  const isolated = await chat(isolatedCount, 350);
  // Back to back: the next message leaves as soon as the previous one arrived; <r/>s are debounced away.
  const stream = await chat(streamCount, 0);

  await ctx.clients.logout("alice");
  await ctx.clients.logout("bob");

  return [
    ...report(ctx, `isolated: ${isolatedCount} messages, 350 ms apart`, isolated, isolatedCount),
    ...report(ctx, `back to back: ${streamCount} messages`, stream, streamCount),
    growth(stream.invocations),
  ];
}

function report(
  ctx: BenchContext,
  what: string,
  w: Window<{ latenciesMs: number[] }>,
  n: number,
): BenchTable[] {
  const all = figures(w.invocations.flatMap((i) => i.calls));
  const frames = routeTimings(w.timings, "$default");
  const latency = spread(w.value.latenciesMs);
  return [
    {
      title: `Message (${what}), per frame`,
      columns: FRAME_COLUMNS,
      rows: [...frameRows(w.invocations), totalRow("= per message (all invocations)", w.invocations, n)],
    },
    {
      title: `Message (${what}), summary per message`,
      columns: ["measure", "value"],
      rows: [
        ["$default frames (Lambda invocations)", (frames.n / n).toFixed(2)],
        [
          "DynamoDB calls (reads / writes)",
          `${(all.dynamoCalls / n).toFixed(2)} (${(all.dynamoReads / n).toFixed(2)} / ${(all.dynamoWrites / n).toFixed(2)})`,
        ],
        ["DynamoDB failed conditional writes", (all.dynamoConditionFailures / n).toFixed(2)],
        [
          "DynamoDB RRU / WRU (of which GSI)",
          `${(all.readUnits / n).toFixed(2)} / ${(all.writeUnits / n).toFixed(2)} (${(all.indexWriteUnits / n).toFixed(2)})`,
        ],
        ["@connections PostToConnection", (all.posts / n).toFixed(2)],
        ["$default handler ms p50 / p99 / max", `${frames.p50} / ${frames.p99} / ${frames.max}`],
        ["end-to-end latency ms p50 / p99 / max", `${latency.p50} / ${latency.p99} / ${latency.max}`],
        [
          "frames of a connection overlapping another",
          `${w.invocations.filter((i) => i.overlapped).length} of ${w.invocations.length}`,
        ],
        ["frames handed over to the lease holder", `${w.invocations.filter(isHandedOver).length}`],
        [
          `Lambda GB-s at ${ctx.frameFunctionMemoryMB} MB (local handler time)`,
          gbSeconds(frames.total / n, ctx.frameFunctionMemoryMB),
        ],
      ],
    },
    {
      title: `Message (${what}), AWS operations per message`,
      columns: OPERATION_COLUMNS,
      rows: operationRows(w.totals, n),
    },
  ];
}

/** The receiver never acknowledges unless asked: its session item grows with each message it is sent. */
function growth(invocations: readonly Invocation[]): BenchTable {
  const messages = invocations.filter((i) => i.label.startsWith("message"));
  const slice = Math.max(1, Math.min(20, Math.floor(messages.length / 4)));
  const wru = (list: readonly Invocation[]) => mean(list.map((i) => figures(i.calls).writeUnits));
  const rru = (list: readonly Invocation[]) => mean(list.map((i) => figures(i.calls).readUnits));
  const first = messages.slice(0, slice);
  const last = messages.slice(-slice);
  return {
    title: "Message frame capacity units as the receiver's unacknowledged XEP-0198 queue grows",
    columns: ["messages", "RRU per message frame", "WRU per message frame"],
    rows: [
      [`first ${slice}`, rru(first).toFixed(2), wru(first).toFixed(2)],
      [`last ${slice}`, rru(last).toFixed(2), wru(last).toFixed(2)],
    ],
    notes: [
      "@xmpp/client acknowledges only when asked (<r/>): unacknowledged stanzas stay in the receiver's session item (smQueue), and each write to that item is billed on its whole size. The server asks every 5 unacknowledged stanzas, which keeps the queue, and these figures, flat.",
    ],
  };
}
