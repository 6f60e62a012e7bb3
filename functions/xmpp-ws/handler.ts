import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { handleConnect, handleDisconnect } from "../../shared/xmpp/session/lifecycle";
import { processFrame } from "../../shared/xmpp/session/run-frame";

// API Gateway WebSocket routes of the XMPP endpoint (RFC 7395). Adapters only: event in, core call.

type ConnectEvent = APIGatewayProxyWebsocketEventV2 & { headers?: Record<string, string | undefined> };

export async function connect(event: ConnectEvent): Promise<APIGatewayProxyResultV2> {
  const offered = headerValue(event.headers, "sec-websocket-protocol");
  const ok = await handleConnect(
    event.requestContext.connectionId,
    event.requestContext.connectedAt,
    offered,
  );
  if (!ok) return { statusCode: 400, body: 'RFC 7395: the "xmpp" WebSocket subprotocol is required' };
  return { statusCode: 200, headers: { "Sec-WebSocket-Protocol": "xmpp" } };
}

export async function frame(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> {
  const ctx = event.requestContext;
  const body = event.isBase64Encoded
    ? Buffer.from(event.body ?? "", "base64").toString("utf8")
    : (event.body ?? "");
  await processFrame({
    connectionId: ctx.connectionId,
    body,
    receivedAt: ctx.requestTimeEpoch,
    messageId: ctx.messageId ?? "",
  });
  return { statusCode: 200 };
}

export async function disconnect(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> {
  await handleDisconnect(event.requestContext.connectionId);
  return { statusCode: 200 };
}

function headerValue(
  headers: Record<string, string | undefined> | undefined,
  name: string,
): string | undefined {
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}
