import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { processWebhookJob } from "../../shared/webhooks/deliver";
import { claimAttempt, createDelivery, getDelivery } from "../../shared/webhooks/deliveries";
import { createEndpoint, deleteEndpoint } from "../../shared/webhooks/endpoints";
import { acquireSlot, releaseSlot } from "../../shared/webhooks/slots";
import { until } from "../e2e/xmpp-helpers";
import { startTestHub, type TestHub } from "../support/hub";

// The delivery state machine against real DynamoDB Local and the real Webhooks queue: what a message
// does when its delivery's runner died, when it is a stale copy, when the endpoint is gone or busy.

Object.assign(process.env, {
  RELAIS_WEBHOOK_ALLOW_HOSTS: "127.0.0.1",
  RELAIS_WEBHOOK_ALLOW_HTTP: "1",
  RELAIS_WEBHOOK_ENDPOINT_CONCURRENCY: "1",
});
const TENANT = "tenant-state";

let t: TestHub;
let server: Server;
let url: string;
const hits: string[] = [];

beforeAll(async () => {
  t = await startTestHub({ domains: ["state.test"] });
  server = createServer((req, res) => {
    hits.push(String(req.headers["webhook-id"]));
    req.resume();
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await t?.stop();
});

let n = 0;
async function newDelivery(endpointId: string) {
  const id = `msg_state_${++n}`;
  const { record } = await createDelivery({
    tenantId: TENANT,
    id,
    endpointId,
    service: "pubsub.state.test",
    stream: "s",
    itemId: `i${n}`,
    publisher: "p@state.test",
    body: JSON.stringify({ type: "stream.item", n }),
  });
  return record;
}

async function endpoint(): Promise<string> {
  const created = await createEndpoint(TENANT, { url });
  if (!created.ok) throw new Error(created.error.detail);
  return created.value.id;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("webhook delivery state", () => {
  it("leaves an attempt in flight alone, takes it over once its runner's lease lapsed, and never sends it again after", async () => {
    const ep = await endpoint();
    const rec = await newDelivery(ep);
    const job = { tenantId: TENANT, deliveryId: rec.id, generation: 1, attempt: 1 };
    // A runner claimed attempt 1 and died before sending it.
    expect(await claimAttempt(rec, 1, { id: "dead-runner", until: Date.now() + 1000 })).toBe(true);
    expect(await processWebhookJob(job)).toBe("stale");
    expect(hits).not.toContain(rec.id);
    await sleep(1100);
    // Its message comes back after the visibility timeout: the lapsed attempt is taken over.
    expect(await processWebhookJob(job)).toBe("succeeded");
    expect(hits.filter((h) => h === rec.id)).toHaveLength(1);
    expect((await getDelivery(TENANT, rec.id))?.record).toMatchObject({ status: "succeeded", attempts: 1 });
    // Copies and redrives of any of its messages send nothing more.
    expect(await processWebhookJob(job)).toBe("stale");
    expect(await processWebhookJob({ ...job, attempt: 2 })).toBe("stale");
    expect(hits.filter((h) => h === rec.id)).toHaveLength(1);
  });

  it("drops messages of another generation", async () => {
    const rec = await newDelivery(await endpoint());
    expect(await processWebhookJob({ tenantId: TENANT, deliveryId: rec.id, generation: 2, attempt: 1 })).toBe(
      "stale",
    );
    expect(hits).not.toContain(rec.id);
  });

  it("ends a delivery whose endpoint was deleted as failed, saying so", async () => {
    const ep = await endpoint();
    const rec = await newDelivery(ep);
    expect((await deleteEndpoint(TENANT, ep)).ok).toBe(true);
    expect(await processWebhookJob({ tenantId: TENANT, deliveryId: rec.id, generation: 1, attempt: 1 })).toBe(
      "failed",
    );
    expect((await getDelivery(TENANT, rec.id))?.record).toMatchObject({
      status: "failed",
      attempts: 0,
      lastError: "endpoint deleted",
    });
  });

  it("puts a delivery back on the queue while its endpoint's slots are all held, and sends it once one frees", async () => {
    const ep = await endpoint();
    const rec = await newDelivery(ep);
    const held = await acquireSlot(TENANT, ep, "someone-else", 1, 60_000);
    expect(held).toBeDefined();
    expect(await processWebhookJob({ tenantId: TENANT, deliveryId: rec.id, generation: 1, attempt: 1 })).toBe(
      "throttled",
    );
    expect(hits).not.toContain(rec.id);
    if (held) await releaseSlot(TENANT, ep, held);
    // The job it re-queued is picked up by the hub's WebhookDelivery poller.
    await until(
      async () => (await getDelivery(TENANT, rec.id))?.record.status === "succeeded",
      "the throttled delivery",
      20_000,
    );
    expect((await getDelivery(TENANT, rec.id))?.record).toMatchObject({ attempts: 1 });
    expect(hits.filter((h) => h === rec.id)).toHaveLength(1);
  });
});
