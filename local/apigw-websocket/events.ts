// Route events in the shape API Gateway gives a Lambda proxy integration on a WebSocket API. Shapes follow
// events captured from real APIs (headers on $disconnect included), not only the documentation.
import { randomUUID } from "node:crypto";
import type {
  APIGatewayEventWebsocketRequestContextV2,
  APIGatewayProxyWebsocketEventV2WithRequestContext,
  Context,
} from "aws-lambda";
import { gatewayId } from "./ids";

export type WebSocketRoute = "$connect" | "$default" | "$disconnect";

export interface WebSocketIdentity {
  sourceIp: string;
  userAgent?: string;
}

/**
 * @types/aws-lambda declares messageId as always present; API Gateway sends it on MESSAGE events only,
 * so it is optional here. A handler typed with APIGatewayProxyWebsocketEventV2 needs a cast to accept this.
 */
export interface WebSocketRequestContext extends Omit<APIGatewayEventWebsocketRequestContextV2, "messageId"> {
  messageId?: string;
  identity: WebSocketIdentity;
  /** $disconnect only. */
  disconnectStatusCode?: number;
  /** $disconnect only. */
  disconnectReason?: string;
}

export interface WebSocketEvent
  extends APIGatewayProxyWebsocketEventV2WithRequestContext<WebSocketRequestContext> {
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
}

/** What every event of one connection shares. */
export interface ConnectionFacts {
  connectionId: string;
  connectedAt: number;
  identity: WebSocketIdentity;
  domainName: string;
  stage: string;
  apiId: string;
}

export interface CloseCause {
  code: number;
  reason: string;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** API Gateway's requestTime: "09/Feb/2024:18:23:28 +0000". */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, "0");
  return (
    `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

function requestContext(
  facts: ConnectionFacts,
  routeKey: WebSocketRoute,
  eventType: WebSocketRequestContext["eventType"],
): WebSocketRequestContext {
  const now = Date.now();
  const requestId = gatewayId();
  return {
    routeKey,
    eventType,
    extendedRequestId: requestId,
    requestTime: requestTime(now),
    messageDirection: "IN",
    stage: facts.stage,
    connectedAt: facts.connectedAt,
    requestTimeEpoch: now,
    identity: { ...facts.identity },
    requestId,
    domainName: facts.domainName,
    connectionId: facts.connectionId,
    apiId: facts.apiId,
  };
}

export interface UpgradeRequestFacts {
  /** Header names with the client's casing, values joined as API Gateway does for repeated headers. */
  rawHeaders: string[];
  query: URLSearchParams;
  traceId: string;
  localPort: number;
}

// Hop-by-hop headers that API Gateway consumes and does not forward to the integration.
const HOP_BY_HOP = new Set(["connection", "upgrade"]);

export function connectEvent(facts: ConnectionFacts, req: UpgradeRequestFacts): WebSocketEvent {
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    if (HOP_BY_HOP.has(name.toLowerCase())) continue;
    const existing = multiValueHeaders[name];
    if (existing) existing.push(req.rawHeaders[i + 1] as string);
    else multiValueHeaders[name] = [req.rawHeaders[i + 1] as string];
  }
  multiValueHeaders["X-Amzn-Trace-Id"] = [req.traceId];
  multiValueHeaders["X-Forwarded-For"] = [facts.identity.sourceIp];
  multiValueHeaders["X-Forwarded-Port"] = [String(req.localPort)];
  multiValueHeaders["X-Forwarded-Proto"] = ["http"];
  const headers = Object.fromEntries(Object.entries(multiValueHeaders).map(([k, v]) => [k, v.join(",")]));

  const event: WebSocketEvent = {
    headers,
    multiValueHeaders,
    requestContext: requestContext(facts, "$connect", "CONNECT"),
    isBase64Encoded: false,
  };
  const keys = [...new Set(req.query.keys())];
  if (keys.length > 0) {
    // API Gateway keeps the last value in the single-value map.
    event.queryStringParameters = Object.fromEntries(keys.map((k) => [k, req.query.getAll(k).at(-1) ?? ""]));
    event.multiValueQueryStringParameters = Object.fromEntries(keys.map((k) => [k, req.query.getAll(k)]));
  }
  return event;
}

export function messageEvent(facts: ConnectionFacts, data: Buffer, isBinary: boolean): WebSocketEvent {
  const ctx = requestContext(facts, "$default", "MESSAGE");
  ctx.messageId = gatewayId();
  return {
    requestContext: ctx,
    body: isBinary ? data.toString("base64") : data.toString("utf8"),
    isBase64Encoded: isBinary,
  };
}

export function disconnectEvent(facts: ConnectionFacts, cause: CloseCause): WebSocketEvent {
  // These four headers (two of them empty) are what API Gateway sends on $disconnect.
  const headers = { Host: facts.domainName, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": "" };
  const ctx = requestContext(facts, "$disconnect", "DISCONNECT");
  ctx.disconnectStatusCode = cause.code;
  ctx.disconnectReason = cause.reason;
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])),
    requestContext: ctx,
    isBase64Encoded: false,
  };
}

/** A Lambda context for one invocation; the deadline is API Gateway's 29 s integration timeout. */
export function lambdaContext(route: WebSocketRoute, timeoutMs = 29_000): Context {
  const functionName = `relais-local-ws-${route.slice(1)}`;
  const deadline = Date.now() + timeoutMs;
  const unsupported = () => {
    throw new Error("context.done/fail/succeed are not supported by the local WebSocket emulator");
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${randomUUID().replaceAll("-", "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}
