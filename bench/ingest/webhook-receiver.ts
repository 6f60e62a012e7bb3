import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";

// A webhook receiver as a tenant would run one: a plain node:http server that checks each delivery's
// Standard Webhooks signature with the reference library before accepting it, answers 204, and notes
// when each item arrived (performance.now(), the same clock as the bench's POSTs: one process).

export interface WebhookReceiver {
  readonly url: string;
  /** Item id → when its first verified delivery was read in full. */
  readonly arrivals: Map<string, number>;
  /** Verified deliveries whose webhook-id had been seen already (a repeated attempt). */
  readonly repeats: () => number;
  /** Requests refused: bad or missing signature (answered 401), or a body that is not a stream item. */
  readonly refused: () => number;
  /** Arms signature checks: the secret is only known once the endpoint is registered with this URL. */
  setSecret(secret: string): void;
  close(): Promise<void>;
}

export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const arrivals = new Map<string, number>();
  const seenIds = new Set<string>();
  let repeats = 0;
  let refused = 0;
  let verifier: Webhook | undefined;
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const at = performance.now();
    const body = Buffer.concat(chunks).toString("utf8");
    const header = (name: string) => String(req.headers[name] ?? "");
    let itemId: unknown;
    try {
      if (!verifier) throw new Error("no secret yet");
      const payload = verifier.verify(body, {
        "webhook-id": header("webhook-id"),
        "webhook-timestamp": header("webhook-timestamp"),
        "webhook-signature": header("webhook-signature"),
      }) as { itemId?: unknown };
      itemId = payload.itemId;
    } catch {
      refused++;
      res.writeHead(401).end();
      return;
    }
    if (typeof itemId !== "string") {
      refused++;
      res.writeHead(400).end();
      return;
    }
    const id = header("webhook-id");
    if (seenIds.has(id)) repeats++;
    seenIds.add(id);
    if (!arrivals.has(itemId)) arrivals.set(itemId, at);
    res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    arrivals,
    repeats: () => repeats,
    refused: () => refused,
    setSecret(secret) {
      verifier = new Webhook(secret);
    },
    async close() {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
}
