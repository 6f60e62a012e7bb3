// An API Gateway WebSocket API on `ws`, for the local runtime: $connect during the HTTP upgrade, $default per
// message, $disconnect once per connection, the @connections management API on the same port, and API
// Gateway's limits (frame and message size, idle timeout, maximum connection duration).
//
// Like a deployed API without route responses (SST configures none), a handler's return value is never sent
// to the client: only @connections posts are. What a $default handler returns is ignored.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import type { Context } from "aws-lambda";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import {
  clientCloseCause,
  GOING_AWAY,
  type LiveConnection,
  liveConnection,
  MESSAGE_TOO_BIG,
} from "./apigw-websocket/connection";
import {
  type CloseCause,
  type ConnectionFacts,
  connectEvent,
  disconnectEvent,
  lambdaContext,
  messageEvent,
  type WebSocketEvent,
  type WebSocketRoute,
} from "./apigw-websocket/events";
import { frameMeter } from "./apigw-websocket/frame-meter";
import { apiId, gatewayId, traceId } from "./apigw-websocket/ids";
import { managementApi } from "./apigw-websocket/management-api";
import { assertPortFree } from "./ports";

export type { WebSocketEvent, WebSocketRequestContext, WebSocketRoute } from "./apigw-websocket/events";

export interface WsRouteResult {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

// `void` so that handlers returning nothing (`async () => {}`) fit, as Lambda allows.
// biome-ignore lint/suspicious/noConfusingVoidType: a Promise<void>-returning handler must be assignable
export type WsRouteHandler = (event: WebSocketEvent, context: Context) => Promise<WsRouteResult | void>;

export interface WebSocketEmulatorOptions {
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default "local". */
  stage?: string;
  routes: { $connect?: WsRouteHandler; $default?: WsRouteHandler; $disconnect?: WsRouteHandler };
  limits?: {
    /** Default 32 KiB: a bigger frame closes the connection with 1009. */
    frameBytes?: number;
    /** Default 128 KiB: a bigger (fragmented) message closes with 1009; also the PostToConnection limit. */
    messageBytes?: number;
    /** Default 10 min without a data message either way: closed with 1001. */
    idleTimeoutMs?: number;
    /** Default 2 h: closed with 1001. */
    maxConnectionMs?: number;
  };
  /** Default true: frames of one connection are handled concurrently, as API Gateway may. */
  concurrentFrames?: boolean;
  /** Handler failures and emulator faults. Default: console.error. */
  onError?: (err: unknown) => void;
  /** Called after each route handler invocation, with its duration (benchmarks, diagnostics). */
  onInvoke?: (route: WebSocketRoute, durationMs: number, error?: unknown) => void;
}

export interface WebSocketEmulator {
  /** ws://host:port; ws://host:port/{stage} is accepted too. */
  url: string;
  /** http://host:port: the `endpoint` for ApiGatewayManagementApiClient (with or without "/{stage}"). */
  managementEndpoint: string;
  port: number;
  connectionCount(): number;
  /** Closes every connection with 1001 (awaiting each $disconnect and handlers in flight), then the server. */
  stop(): Promise<void>;
}

const DEFAULT_LIMITS = {
  frameBytes: 32 * 1024,
  messageBytes: 128 * 1024,
  idleTimeoutMs: 10 * 60 * 1000,
  maxConnectionMs: 2 * 60 * 60 * 1000,
};

/** How long stop() lets clients answer the close handshake before dropping their sockets. */
const STOP_GRACE_MS = 1000;

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
};

/** Answers an upgrade request with a plain HTTP response and no WebSocket. */
function refuseUpgrade(
  socket: Duplex,
  status: number,
  body = "",
  headers: Record<string, string> = {},
): void {
  if (socket.destroyed) return;
  const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`, "Connection: close"];
  for (const [name, value] of Object.entries(headers)) {
    if (!/^(connection|content-length|sec-websocket-protocol)$/i.test(name)) lines.push(`${name}: ${value}`);
  }
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  socket.end(`${lines.join("\r\n")}\r\n\r\n${body}`);
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  return key === undefined ? undefined : headers[key];
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

// Checks ws would make after $connect; failing them first keeps $connect from running for a request that
// can never become a connection.
function isWebSocketUpgrade(req: IncomingMessage): boolean {
  return (
    req.method === "GET" &&
    req.headers.upgrade?.toLowerCase() === "websocket" &&
    /^[+/0-9A-Za-z]{22}==$/.test(req.headers["sec-websocket-key"] ?? "") &&
    (req.headers["sec-websocket-version"] === "13" || req.headers["sec-websocket-version"] === "8")
  );
}

export async function startWebSocketEmulator(opts: WebSocketEmulatorOptions): Promise<WebSocketEmulator> {
  const host = opts.host ?? "127.0.0.1";
  const stage = opts.stage ?? "local";
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const concurrent = opts.concurrentFrames ?? true;
  const onError = opts.onError ?? ((err: unknown) => console.error("[apigw-websocket]", err));
  const api = apiId();

  await assertPortFree(opts.port, host, "RELAIS_WS_PORT", "WebSocket API emulator");

  const connections = new Map<string, LiveConnection>();
  const sockets = new Set<WebSocket>();
  const inFlight = new Set<Promise<unknown>>();
  const protocolFor = new WeakMap<IncomingMessage, string>();
  let stopping = false;

  const track = (p: Promise<unknown>): void => {
    const settled = p.then(
      () => undefined,
      (err: unknown) => onError(err),
    );
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  };

  const invoke = (route: WebSocketRoute, event: WebSocketEvent) => {
    const handler = opts.routes[route];
    if (!handler) return Promise.resolve(undefined);
    const onInvoke = opts.onInvoke;
    if (!onInvoke) return handler(event, lambdaContext(route));
    const started = performance.now();
    return handler(event, lambdaContext(route)).then(
      (result) => {
        onInvoke(route, performance.now() - started);
        return result;
      },
      (err: unknown) => {
        onInvoke(route, performance.now() - started, err);
        throw err;
      },
    );
  };

  const fireDisconnect = (facts: ConnectionFacts, cause: CloseCause): void => {
    track(invoke("$disconnect", disconnectEvent(facts, cause)));
  };

  // API Gateway answers a client itself, on the socket, when it cannot hand a message to a route.
  const gatewayNotice = (conn: LiveConnection, message: string, requestId: string): void => {
    conn.send(Buffer.from(JSON.stringify({ message, connectionId: conn.facts.connectionId, requestId })));
  };

  const handleMessage = async (conn: LiveConnection, event: WebSocketEvent): Promise<void> => {
    const requestId = event.requestContext.requestId;
    if (!opts.routes.$default) return gatewayNotice(conn, "Forbidden", requestId);
    try {
      await invoke("$default", event);
    } catch (err) {
      onError(err);
      gatewayNotice(conn, "Internal server error", requestId);
    }
  };

  const attach = (ws: WebSocket, socket: Duplex, facts: ConnectionFacts): void => {
    sockets.add(ws);
    const conn = liveConnection(ws, facts, limits, (c) => connections.delete(c.facts.connectionId));
    connections.set(facts.connectionId, conn);
    // Runs before ws's own listener, so an oversized frame is caught before ws could deliver it.
    socket.prependListener(
      "data",
      frameMeter(limits, () => conn.close(MESSAGE_TOO_BIG)),
    );
    ws.on("message", (data, isBinary) => {
      if (!conn.isOpen) return;
      conn.touch();
      const event = messageEvent(facts, toBuffer(data), isBinary);
      if (concurrent) {
        track(handleMessage(conn, event));
      } else {
        conn.queue = conn.queue.then(() => handleMessage(conn, event));
        track(conn.queue);
      }
    });
    // ws closes the connection itself on protocol errors (1002, 1007, 1009); the close event reports it.
    ws.on("error", () => {});
    ws.once("close", (code, reason) => {
      sockets.delete(ws);
      connections.delete(facts.connectionId);
      conn.dispose();
      fireDisconnect(facts, conn.serverCause ?? clientCloseCause(code, reason));
    });
  };

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    // Backstop for the frame meter's message limit, which fires first with a reason.
    maxPayload: limits.messageBytes,
    // API Gateway selects a subprotocol only when $connect returns Sec-WebSocket-Protocol.
    handleProtocols: (_offered, req) => protocolFor.get(req) ?? false,
  });

  const stagePath = new RegExp(`^/(?:${stage.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/?)?$`);

  const upgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> => {
    // A client that resets while $connect runs must not take the process down with an unhandled error.
    socket.on("error", () => {});
    if (stopping) return refuseUpgrade(socket, 503);
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!stagePath.test(url.pathname)) return refuseUpgrade(socket, 403, '{"message":"Forbidden"}');
    if (!isWebSocketUpgrade(req)) return refuseUpgrade(socket, 400);

    const connectedAt = Date.now();
    const userAgent = req.headers["user-agent"];
    const facts: ConnectionFacts = {
      connectionId: gatewayId(),
      connectedAt,
      identity: { sourceIp: req.socket.remoteAddress ?? host, ...(userAgent ? { userAgent } : {}) },
      domainName: req.headers.host ?? `${host}:${port}`,
      stage,
      apiId: api,
    };

    let result: WsRouteResult | undefined;
    try {
      result = (await invoke(
        "$connect",
        connectEvent(facts, {
          rawHeaders: req.rawHeaders,
          query: url.searchParams,
          traceId: traceId(connectedAt),
          localPort: port,
        }),
      )) as WsRouteResult | undefined;
    } catch (err) {
      onError(err);
      return refuseUpgrade(socket, 502, '{"message": "Internal server error"}');
    }
    const status = result?.statusCode ?? 200;
    if (status < 200 || status > 299)
      return refuseUpgrade(socket, status, result?.body ?? "", result?.headers);

    const protocol = headerValue(result?.headers, "sec-websocket-protocol");
    if (protocol !== undefined) protocolFor.set(req, protocol);

    // $connect accepted this connection: from here on it gets its $disconnect whatever happens.
    let attached = false;
    const lost = (cause: CloseCause) => {
      if (!attached) fireDisconnect(facts, cause);
    };
    if (stopping || socket.destroyed) {
      socket.destroy();
      return lost(stopping ? GOING_AWAY : { code: 1006, reason: "Connection closed abnormally" });
    }
    socket.once("close", () => lost({ code: 1006, reason: "Connection closed abnormally" }));
    wss.handleUpgrade(req, socket, head, (ws) => {
      attached = true;
      attach(ws, socket, facts);
    });
  };

  const server = createServer(
    managementApi({
      stage,
      maxPayloadBytes: limits.messageBytes,
      connection: (id) => {
        const conn = connections.get(id);
        return conn?.isOpen ? conn : undefined;
      },
    }),
  );
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    track(upgrade(req, socket, head));
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  server.on("error", onError);

  const settleInFlight = async (): Promise<void> => {
    // Handlers may start others ($default closing a connection fires $disconnect): drain until quiet.
    while (inFlight.size > 0) await Promise.all([...inFlight]);
  };

  return {
    url: `ws://${host}:${port}`,
    managementEndpoint: `http://${host}:${port}`,
    port,
    connectionCount: () => connections.size,
    async stop() {
      if (stopping) return;
      stopping = true;
      for (const conn of [...connections.values()]) conn.close(GOING_AWAY);
      const closed = [...sockets].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            ws.once("close", () => resolve());
            setTimeout(() => ws.terminate(), STOP_GRACE_MS).unref();
          }),
      );
      await Promise.all(closed);
      await settleInFlight();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
