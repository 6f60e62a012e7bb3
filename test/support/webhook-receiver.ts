import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";

// A webhook receiver for tests: a real HTTP server on 127.0.0.1 whose answers a test scripts. It is
// added to `receivers`, which the test closes when done.

export interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly at: number;
  /** What the receiver answered (0: it never did, the sender gave up first). */
  status: number;
}

export interface Receiver {
  readonly url: string;
  readonly requests: Received[];
  /** Requests answered with a 2xx. */
  ok(): Received[];
  close(): Promise<void>;
}

export async function receiver(
  receivers: Receiver[],
  answer: (n: number) => { status: number; delayMs?: number } = () => ({ status: 200 }),
): Promise<Receiver> {
  const requests: Received[] = [];
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const received: Received = {
      headers: req.headers,
      body: Buffer.concat(chunks).toString("utf8"),
      at: Date.now(),
      status: 0,
    };
    requests.push(received);
    const { status, delayMs = 0 } = answer(requests.length);
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    if (res.destroyed) return;
    received.status = status;
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  const r: Receiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    requests,
    ok: () => requests.filter((q) => q.status >= 200 && q.status < 300),
    close: async () => {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
    },
  };
  receivers.push(r);
  return r;
}
