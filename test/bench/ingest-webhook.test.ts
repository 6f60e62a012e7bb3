import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhookReceiver } from "../../bench/ingest/webhook-receiver";
import { type BenchContext, startBenchContext } from "../../bench/support/context";
import { loadBenchModules } from "../../bench/support/modules";
import { httpLabel } from "../../bench/support/recorder";
import type { BenchTable } from "../../bench/support/types";

// The ingest bench on a real local hub (quick mode): sign-up, stream and ingest key over /v1, a real
// receiver checking signatures; the figures it reports must come from what actually happened.

let ctx: BenchContext;

beforeAll(async () => {
  ctx = await startBenchContext({ quick: true });
}, 60_000);
afterAll(async () => {
  await ctx?.close();
});

/** The cell of `column` (first column of that name) in the row whose first cell is `first`. */
function cell(table: BenchTable | undefined, first: string, column: string): string {
  const i = table?.columns.indexOf(column) ?? -1;
  const row = table?.rows.find((r) => String(r[0]) === first);
  if (!row || i < 0) throw new Error(`no cell ${first} / ${column} in ${table?.title}`);
  return String(row[i]);
}

describe("ingest bench helpers", () => {
  it("groups HTTP requests by route, whatever the ids", () => {
    const label = (method: string, path: string) => httpLabel(new Request(`http://h${path}`, { method }));
    expect(label("POST", "/v1/streams/urn%3Adev%3Abench%3Am_power/items")).toBe(
      "POST /v1/streams/{id}/items",
    );
    expect(label("DELETE", "/v1/keys/k_123")).toBe("DELETE /v1/keys/{id}");
    expect(label("POST", "/v1/signup")).toBe("POST /v1/signup");
  });

  it("the receiver accepts only deliveries signed with the endpoint's secret", async () => {
    const receiver = await startWebhookReceiver();
    try {
      const secret = `whsec_${Buffer.from("a bench test secret, 32 bytes!!").toString("base64")}`;
      receiver.setSecret(secret);
      const body = JSON.stringify({ type: "stream.item", itemId: "i1" });
      const at = new Date();
      const signature = new Webhook(secret).sign("msg_1", at, body);
      const send = (sig: string) =>
        fetch(receiver.url, {
          method: "POST",
          body,
          headers: {
            "webhook-id": "msg_1",
            "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
            "webhook-signature": sig,
          },
        });
      const forged = `v1,${Buffer.alloc(32).toString("base64")}`;
      expect((await send(forged)).status).toBe(401);
      expect(receiver.refused()).toBe(1);
      expect(receiver.arrivals.has("i1")).toBe(false);
      expect((await send(signature)).status).toBe(204);
      expect((await send(signature)).status).toBe(204);
      expect(receiver.arrivals.has("i1")).toBe(true);
      expect(receiver.repeats()).toBe(1);
    } finally {
      await receiver.close();
    }
  });
});

describe("ingest-webhook bench", () => {
  it("measures ingest and webhook delivery, and puts the allow-list setting back", async () => {
    process.env.RELAIS_WEBHOOK_ALLOW_HOSTS = "192.0.2.1";
    delete process.env.RELAIS_WEBHOOK_ALLOW_HTTP;
    const bench = (await loadBenchModules()).find((m) => m.name === "ingest-webhook");
    const tables = (await bench?.run(ctx)) ?? [];
    expect(process.env.RELAIS_WEBHOOK_ALLOW_HOSTS).toBe("192.0.2.1");
    expect(process.env.RELAIS_WEBHOOK_ALLOW_HTTP).toBeUndefined();

    const throughput = tables.find((t) => t.title.startsWith("Ingest throughput"));
    expect(throughput?.rows).toHaveLength(2);
    for (const row of throughput?.rows ?? []) {
      const col = (name: string) => String(row[throughput?.columns.indexOf(name) ?? -1]);
      expect(Number(col("requests"))).toBeGreaterThan(0);
      expect(col("errors")).toBe("0");
      // The HTTP function's own calls are attributed to it (HubHooks.wrapHttp): the key, the stream,
      // the daily count, the item, then one Fanout message per pack.
      expect(Number(col("ingest handler: DDB / ingest"))).toBeGreaterThanOrEqual(4);
      expect(col("SQS / ingest")).toBe("1");
      expect(Number(col("webhooks/s"))).toBeGreaterThan(0);
    }

    const latency = tables.find((t) => t.title === "Ingest → webhook latency");
    expect(cell(latency, "one at a time", "POST → webhook ms p50")).toMatch(/^\d+\.\d$/);
    // One PubsubFanout and one WebhookDelivery invocation per pack, when packs go one at a time.
    expect(cell(latency, "one at a time", "queue invocations / webhook")).toBe("2");
    expect(cell(latency, "one at a time", "webhooks missing")).toBe("0");
    expect(latency?.notes).toContain(
      "receiver: 0 requests refused (bad signature or body), 0 repeated webhook-ids, over the whole module.",
    );
    const where = tables.find((t) => t.title.startsWith("One at a time") && t.title.includes("where"));
    expect(Number(cell(where, "WebhookDelivery", "DDB calls"))).toBeGreaterThan(0);
  }, 180_000);
});
