import { AsyncLocalStorage } from "node:async_hooks";
import type { WebSocketEvent, WebSocketRoute, WsRouteHandler } from "../../local/apigw-websocket";
import type { HttpFetch } from "../../local/hub";
import type { SqsBatchHandler } from "../../local/queue-poller";
import { type AwsCall, onAwsCall } from "../../shared/aws/call-counter";
import { frameLabel } from "./frame-label";

/** One handler invocation as the hub ran it (a WebSocket route, a queue consumer or an HTTP request), with its AWS calls. */
export interface Invocation {
  /** The WebSocket route, "queue" for a queue consumer, "http" for a request to the HTTP function. */
  readonly route: WebSocketRoute | "queue" | "http";
  /** The WebSocket connection; empty for a queue consumer or an HTTP request. */
  readonly connectionId: string;
  /**
   * What the frame was ("sasl <auth SCRAM-SHA-1/>", "message chat"...), the route's name, the consumer's
   * function name, or an HTTP request's method and path pattern ("POST /v1/streams/{id}/items").
   */
  readonly label: string;
  /** SQS records in the event, for a queue consumer. */
  readonly records?: number;
  readonly startedAt: number;
  durationMs: number;
  readonly calls: AwsCall[];
  /** Another invocation of the same connection ran at the same time (API Gateway allows it). */
  overlapped: boolean;
  error?: string;
}

/**
 * Records every WebSocket route invocation of the hub. Each handler runs in an AsyncLocalStorage scope,
 * so the AWS calls it makes (reported by shared/aws/call-counter) are attributed to it even when
 * invocations interleave; queue consumers too, when wrapped with `wrapQueue`. Calls made outside any
 * invocation are kept apart.
 */
export class InvocationRecorder {
  private readonly scope = new AsyncLocalStorage<Invocation>();
  private readonly inFlight = new Set<Invocation>();
  private done: Invocation[] = [];
  private outside: AwsCall[] = [];
  /** Durations reported by the emulator's onInvoke hook, per route. */
  private timings: Array<{ route: WebSocketRoute; durationMs: number; failed: boolean }> = [];
  private lastActivity = performance.now();
  private readonly unsubscribe: () => void;

  constructor() {
    this.unsubscribe = onAwsCall((call) => {
      const inv = this.scope.getStore();
      if (inv) inv.calls.push(call);
      else this.outside.push(call);
    });
  }

  /** For HubHooks.wrapWsRoute. */
  readonly wrap = (route: WebSocketRoute, handler: WsRouteHandler): WsRouteHandler => {
    return async (event, context) => {
      const inv: Invocation = {
        route,
        connectionId: event.requestContext.connectionId,
        label: route === "$default" ? frameLabel(bodyOf(event)) : route,
        startedAt: performance.now(),
        durationMs: 0,
        calls: [],
        overlapped: false,
      };
      for (const other of this.inFlight) {
        if (other.connectionId === inv.connectionId) {
          other.overlapped = true;
          inv.overlapped = true;
        }
      }
      return this.track(inv, () => handler(event, context));
    };
  };

  /** For HubHooks.wrapQueueHandler. */
  readonly wrapQueue = (functionName: string, handler: SqsBatchHandler): SqsBatchHandler => {
    return async (event, context) => {
      const inv: Invocation = {
        route: "queue",
        connectionId: "",
        label: functionName,
        records: event.Records.length,
        startedAt: performance.now(),
        durationMs: 0,
        calls: [],
        overlapped: false,
      };
      return this.track(inv, () => handler(event, context));
    };
  };

  /** For HubHooks.wrapHttp: one invocation per request, until the handler has returned its Response. */
  readonly wrapHttp = (fetch: HttpFetch): HttpFetch => {
    return async (req, env) => {
      const inv: Invocation = {
        route: "http",
        connectionId: "",
        label: httpLabel(req),
        startedAt: performance.now(),
        durationMs: 0,
        calls: [],
        overlapped: false,
      };
      const res = await this.track(inv, async () => fetch(req, env));
      if (res.status >= 500) inv.error = `HTTP ${res.status}`;
      return res;
    };
  };

  /**
   * Whether invocations run in an AsyncLocalStorage scope that attributes their AWS calls to them. The
   * scope's promise hooks cost Node 20 about a fifth of the hub's CPU in a fan-out: runs that measure
   * latency turn it off (their calls are then only counted outside any invocation).
   */
  attributeCalls = true;

  private async track<R>(inv: Invocation, fn: () => Promise<R>): Promise<R> {
    this.inFlight.add(inv);
    this.lastActivity = inv.startedAt;
    try {
      return this.attributeCalls ? await this.scope.run(inv, fn) : await fn();
    } catch (err) {
      inv.error = (err as Error).name ?? "Error";
      throw err;
    } finally {
      inv.durationMs = performance.now() - inv.startedAt;
      this.inFlight.delete(inv);
      this.done.push(inv);
      this.lastActivity = performance.now();
    }
  }

  /** For HubHooks.onWsInvoke. */
  readonly onInvoke = (route: WebSocketRoute, durationMs: number, error?: unknown): void => {
    this.timings.push({ route, durationMs, failed: error !== undefined });
  };

  /** Forgets everything recorded so far (invocations in flight are still recorded when they end). */
  clear(): void {
    this.done = [];
    this.outside = [];
    this.timings = [];
  }

  /** Waits until no invocation has run for `quietMs`. */
  async settle(quietMs = 100, timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const idle = this.inFlight.size === 0 && performance.now() - this.lastActivity >= quietMs;
      if (idle) return;
      if (performance.now() > deadline) throw new Error("the hub did not go quiet");
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  snapshot(): {
    invocations: Invocation[];
    outside: AwsCall[];
    timings: Array<{ route: WebSocketRoute; durationMs: number; failed: boolean }>;
  } {
    return { invocations: [...this.done], outside: [...this.outside], timings: [...this.timings] };
  }

  close(): void {
    this.unsubscribe();
  }
}

function bodyOf(event: WebSocketEvent): string {
  const body = event.body ?? "";
  return event.isBase64Encoded ? Buffer.from(body, "base64").toString("utf8") : body;
}

/** "POST /v1/streams/{id}/items": the path with its ids replaced, so requests group by route. */
export function httpLabel(req: Request): string {
  const path = new URL(req.url).pathname.replace(
    /^\/v1\/(streams|keys|accounts|invites)\/[^/]+/,
    (_, collection: string) => `/v1/${collection}/{id}`,
  );
  return `${req.method} ${path}`;
}
