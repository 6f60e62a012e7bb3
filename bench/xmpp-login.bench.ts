import type { BenchContext } from "./support/context";
import { per, spread } from "./support/stats";
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

export const name = "xmpp-login";
export const description =
  "@xmpp/client login over the API Gateway emulator: WebSocket open, SASL SCRAM-SHA-1, bind, XEP-0198 enable, roster get, initial presence; then logout";

export async function run(ctx: BenchContext): Promise<BenchTable[]> {
  const n = ctx.quick ? 3 : 20;
  const accounts: Array<{ jid: string; password: string }> = [];
  for (let i = 0; i < n; i++) accounts.push(await ctx.account("login"));

  const login = await ctx.measure(async () => {
    const clientMs: number[] = [];
    for (const [i, a] of accounts.entries()) {
      const r = await ctx.clients.login(`login-${i}`, {
        service: ctx.wsUrl,
        jid: a.jid,
        password: a.password,
        rosterAndPresence: true,
      });
      clientMs.push(r.ms);
    }
    return clientMs;
  });
  const logout = await ctx.measure(async () => {
    for (let i = 0; i < n; i++) await ctx.clients.logout(`login-${i}`);
  });

  const all = figures(login.invocations.flatMap((i) => i.calls));
  const frames = routeTimings(login.timings, "$default");
  const connects = routeTimings(login.timings, "$connect");
  const handedOver = login.invocations.filter(isHandedOver).length;
  const overlapped = login.invocations.filter((i) => i.overlapped).length;
  const client = spread(login.value);
  const totalHandlerMs = login.timings.reduce((s, t) => s + t.durationMs, 0);

  return [
    {
      title: `Login, per frame (${n} logins, one after the other)`,
      columns: FRAME_COLUMNS,
      rows: [
        ...frameRows(login.invocations),
        totalRow("= per login (all invocations)", login.invocations, n),
      ],
      notes: [
        "Means per invocation; RRU/WRU are DynamoDB capacity units as DynamoDB Local reports them (failed conditional writes report none).",
        "A frame handed over to a concurrent invocation of its connection is processed (and its calls counted) in the holder's row.",
      ],
    },
    {
      title: "Login, summary per login",
      columns: ["measure", "value"],
      rows: [
        ["Lambda invocations ($connect + $default)", per(connects.n + frames.n, n)],
        ["$default frames", per(frames.n, n)],
        [
          "DynamoDB calls (reads / writes)",
          `${per(all.dynamoCalls, n)} (${per(all.dynamoReads, n)} / ${per(all.dynamoWrites, n)})`,
        ],
        ["DynamoDB failed conditional writes", per(all.dynamoConditionFailures, n)],
        [
          "DynamoDB RRU / WRU (of which GSI)",
          `${(all.readUnits / n).toFixed(1)} / ${(all.writeUnits / n).toFixed(1)} (${(all.indexWriteUnits / n).toFixed(1)})`,
        ],
        ["@connections PostToConnection", per(all.posts, n)],
        ["SQS calls", per(all.sqs, n)],
        ["$default handler ms p50 / p99 / max", `${frames.p50} / ${frames.p99} / ${frames.max}`],
        ["$connect handler ms p50 / p99 / max", `${connects.p50} / ${connects.p99} / ${connects.max}`],
        ["frames of a connection overlapping another", `${overlapped} of ${login.invocations.length}`],
        ["frames handed over to the lease holder", `${handedOver} of ${frames.n}`],
        [
          `Lambda GB-s at ${ctx.frameFunctionMemoryMB} MB (local handler time)`,
          gbSeconds(totalHandlerMs / n, ctx.frameFunctionMemoryMB),
        ],
        ["client-side login time ms p50 / p99 (incl. its PBKDF2)", `${client.p50} / ${client.p99}`],
      ],
    },
    {
      title: "Login, AWS operations per login",
      columns: OPERATION_COLUMNS,
      rows: operationRows(login.totals, n),
    },
    {
      title: `Logout (@xmpp/client stop(): <a/>, <close/>, socket closed), per frame (${n} logouts)`,
      columns: FRAME_COLUMNS,
      rows: [...frameRows(logout.invocations), totalRow("= per logout", logout.invocations, n)],
    },
  ];
}
