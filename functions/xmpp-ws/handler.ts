import { isUtf8 } from "node:buffer";
import type { APIGatewayProxyResultV2, APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { handleConnect, handleDisconnect } from "../../shared/xmpp/session/lifecycle";
import { processFrame } from "../../shared/xmpp/session/run-frame";
import { waitForRelease } from "../../shared/xmpp/session/store";

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
  // A binary message may still be UTF-8 text; if it is not, decoding it would hide the fault behind
  // U+FFFD, and RFC 6120 11.6 wants unsupported-encoding: the frame goes on flagged, in its turn.
  const bytes = event.isBase64Encoded ? Buffer.from(event.body ?? "", "base64") : undefined;
  const invalid = bytes !== undefined && !isUtf8(bytes);
  await processFrame({
    connectionId: ctx.connectionId,
    body: bytes === undefined || invalid ? (event.body ?? "") : bytes.toString("utf8"),
    ...(invalid && { invalid: true as const }),
    receivedAt: ctx.requestTimeEpoch,
    messageId: ctx.messageId ?? "",
  });
  return { statusCode: 200 };
}

export async function disconnect(event: APIGatewayProxyWebsocketEventV2): Promise<APIGatewayProxyResultV2> {
  // A frame still being handled may have sent the client more than its saved state says (XEP-0198
  // enabled, a resource bound): let it finish, so the session is judged on what the client saw.
  await waitForRelease(event.requestContext.connectionId);
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
