import type { LookupAddress } from "node:dns";
import { type ClientRequest, request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Target } from "./resolve";

// One HTTP attempt: a POST to the address the SSRF guard checked (DNS is not asked again), no redirect
// followed, one deadline for the whole exchange. It never throws: every outcome is a result to log.

export interface AttemptResult {
  readonly ok: boolean;
  /** The HTTP status, when a response came. */
  readonly status?: number;
  /** Why the attempt failed, for the delivery log: "HTTP 503", "timed out after 10000 ms", ... */
  readonly error?: string;
  readonly latencyMs: number;
}

/** Bytes of a response body read before the connection is dropped: the answer's content is not used. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export function postPinned(
  target: Target,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<AttemptResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  // Node asks with `all: true` when it may try several addresses (autoSelectFamily): one is offered.
  const lookup = (
    _hostname: string,
    options: { all?: boolean },
    callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    if (options.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const payload = Buffer.from(body, "utf8");
  const request = target.url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<AttemptResult>((resolve) => {
    let settled = false;
    let req: ClientRequest | undefined;
    const finish = (result: Omit<AttemptResult, "latencyMs">): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req?.destroy();
      resolve({ ...result, latencyMs: elapsed() });
    };
    const timer = setTimeout(
      () => finish({ ok: false, error: `timed out after ${timeoutMs} ms` }),
      timeoutMs,
    );
    req = request({
      method: "POST",
      host: target.hostname,
      port: target.port,
      path: `${target.url.pathname}${target.url.search}`,
      lookup,
      // A fresh connection per attempt: a pooled socket could be one opened to another address.
      agent: false,
      headers: {
        ...headers,
        "content-type": "application/json",
        "content-length": String(payload.length),
        "user-agent": "Relais-Webhooks/1",
      },
    });
    req.on("response", (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      res.on("data", (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) done();
      });
      const done = (): void => {
        if (status >= 200 && status < 300) finish({ ok: true, status });
        else if (status >= 300 && status < 400) {
          const location = res.headers.location ? ` to ${res.headers.location}` : "";
          finish({ ok: false, status, error: `HTTP ${status}: redirect${location} not followed` });
        } else finish({ ok: false, status, error: `HTTP ${status}` });
      };
      res.on("end", done);
      res.on("error", done);
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      finish({
        ok: false,
        error: `network: ${err.code ?? err.name}${err.message ? ` (${err.message})` : ""}`,
      });
    });
    req.end(payload);
  });
}
