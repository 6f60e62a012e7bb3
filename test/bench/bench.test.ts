import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BenchContext, startBenchContext } from "../../bench/support/context";
import { loadBenchModules } from "../../bench/support/modules";
import type { BenchTable } from "../../bench/support/types";
import { type AwsCall, callCounts, onAwsCall, resetCallCounts } from "../../shared/aws/call-counter";
import { documents } from "../../shared/aws/clients";
import { tableName } from "../../shared/aws/resources";

let ctx: BenchContext;

beforeAll(async () => {
  ctx = await startBenchContext({ quick: true });
}, 60_000);
afterAll(async () => {
  await ctx?.close();
});

/** The value of a "measure | value" row. */
function measureValue(table: BenchTable | undefined, measure: string): string {
  const row = table?.rows.find((r) => String(r[0]).startsWith(measure));
  if (!row) throw new Error(`no row "${measure}" in ${table?.title}`);
  return String(row[1]);
}

describe("call counter", () => {
  it("counts each SDK call once per service and operation, with failures and capacity", async () => {
    const seen: AwsCall[] = [];
    const off = onAwsCall((c) => seen.push(c));
    resetCallCounts();
    const TableName = tableName("Sessions");
    await documents().send(new GetCommand({ TableName, Key: { connectionId: "bench-test" } }));
    await documents().send(new PutCommand({ TableName, Item: { connectionId: "bench-test" } }));
    await expect(
      documents().send(
        new PutCommand({
          TableName,
          Item: { connectionId: "bench-test" },
          ConditionExpression: "attribute_not_exists(connectionId)",
        }),
      ),
    ).rejects.toThrow();
    off();
    const counts = callCounts();
    expect(counts["DynamoDB.GetItem"]?.calls).toBe(1);
    expect(counts["DynamoDB.PutItem"]).toMatchObject({
      calls: 2,
      errors: { ConditionalCheckFailedException: 1 },
    });
    // The bench context turns capacity capture on: DynamoDB Local reports units for the successful put.
    expect(counts["DynamoDB.PutItem"]?.capacityUnits).toBeGreaterThan(0);
    expect(seen.map((c) => c.operation)).toEqual(["GetItem", "PutItem", "PutItem"]);
  });
});

describe("bench modules", () => {
  it("find the bench/*.bench.ts modules", async () => {
    const names = (await loadBenchModules()).map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(["xmpp-login", "xmpp-message"]));
  });

  it("xmpp-login reports the calls and handler times of a login", async () => {
    const login = (await loadBenchModules()).find((m) => m.name === "xmpp-login");
    const tables = (await login?.run(ctx)) ?? [];
    const summary = tables.find((t) => t.title.startsWith("Login, summary"));
    // One $connect, then at least: two <open/>, <auth/>, <response/>, bind, enable, roster, presence.
    expect(Number(measureValue(summary, "Lambda invocations"))).toBeGreaterThanOrEqual(9);
    // Replies the client must get: 2 × (open + features), challenge, success, bind, enabled, roster.
    expect(Number(measureValue(summary, "@connections PostToConnection"))).toBeGreaterThanOrEqual(9);
    expect(Number.parseFloat(measureValue(summary, "DynamoDB calls"))).toBeGreaterThan(9);
    expect(measureValue(summary, "$default handler ms")).toMatch(/^\d+\.\d \/ \d+\.\d \/ \d+\.\d$/);
    const perFrame = tables.find((t) => t.title.startsWith("Login, per frame"));
    const labels = perFrame?.rows.map((r) => r[0]);
    expect(labels).toEqual(
      expect.arrayContaining([
        "$connect",
        "<open/>",
        "sasl <auth SCRAM-SHA-1/>",
        "iq set bind",
        "sm <enable/>",
      ]),
    );
  }, 60_000);

  it("xmpp-message reports the calls per message and its latency", async () => {
    const message = (await loadBenchModules()).find((m) => m.name === "xmpp-message");
    const tables = (await message?.run(ctx)) ?? [];
    const isolated = tables.find((t) => /^Message \(isolated.*summary/.test(t.title));
    // The message itself is posted to the receiver; the sender's <r/> gets an <a/>.
    expect(Number(measureValue(isolated, "@connections PostToConnection"))).toBeGreaterThanOrEqual(1);
    expect(Number.parseFloat(measureValue(isolated, "DynamoDB calls"))).toBeGreaterThan(0);
    expect(measureValue(isolated, "end-to-end latency ms")).toMatch(/^\d+\.\d \/ \d+\.\d \/ \d+\.\d$/);
  }, 60_000);
});
