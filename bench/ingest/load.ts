// A closed-loop load generator on fetch (Node's built-in undici): `connections` workers, each sending
// its next request as soon as the previous answer is read, for `durationMs`. Closed loop means the
// offered load adapts to the server: requests/s is what the hub sustains at that concurrency, and
// latencies do not include time queued in the generator. Each worker holds at most one request in
// flight, so the keep-alive pool holds at most `connections` sockets.

export interface LoadRequest {
  readonly url: string;
  readonly init: RequestInit;
}

export interface Sent {
  readonly sentAt: number;
  readonly answeredAt: number;
  /** HTTP status; 0 for a network error. */
  readonly status: number;
  /** The answer's body, parsed as JSON when it is. */
  readonly body: unknown;
}

export interface LoadResult {
  readonly sent: Sent[];
  /** From the first request sent to the last answer read. */
  readonly wallMs: number;
}

export async function closedLoop(opts: {
  connections: number;
  durationMs: number;
  /** The n-th request of the run (0-based, across workers). */
  request: (n: number) => LoadRequest;
}): Promise<LoadResult> {
  const sent: Sent[] = [];
  let n = 0;
  const started = performance.now();
  const deadline = started + opts.durationMs;
  const worker = async () => {
    while (performance.now() < deadline) {
      const { url, init } = opts.request(n++);
      sent.push(await once(url, init));
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  return { sent, wallMs: performance.now() - started };
}

/** Every request sent at once (pipelined), each on its own connection. */
export function burst(requests: readonly LoadRequest[]): Promise<Sent[]> {
  return Promise.all(requests.map((r) => once(r.url, r.init)));
}

/** One request, timed from before it is sent to its answer's body read in full. */
export async function once(url: string, init: RequestInit): Promise<Sent> {
  const sentAt = performance.now();
  try {
    const res = await fetch(url, init);
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: kept as text for the error note.
    }
    return { sentAt, answeredAt: performance.now(), status: res.status, body };
  } catch (err) {
    return { sentAt, answeredAt: performance.now(), status: 0, body: (err as Error).message };
  }
}
