import { DeleteConnectionCommand, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { connections } from "../aws/clients";
import { connectionsEndpoint } from "../aws/resources";

// Each RFC 7395 frame is one WebSocket message, so one PostToConnection per frame. API Gateway caps a
// message at 128 KiB; callers check sizes before they get here (see outbound.ts).

export type PostResult = "sent" | "gone";

function isGone(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "GoneException" || e.$metadata?.httpStatusCode === 410;
}

/** Sends frames in order; stops at the first "gone" (the socket closed: nothing after it can arrive). */
export async function postFrames(connectionId: string, frames: readonly string[]): Promise<PostResult> {
  const client = connections(connectionsEndpoint());
  for (const frame of frames) {
    try {
      await client.send(
        new PostToConnectionCommand({ ConnectionId: connectionId, Data: Buffer.from(frame, "utf8") }),
      );
    } catch (err) {
      if (isGone(err)) return "gone";
      throw err;
    }
  }
  return "sent";
}

export async function closeConnection(connectionId: string): Promise<void> {
  try {
    await connections(connectionsEndpoint()).send(
      new DeleteConnectionCommand({ ConnectionId: connectionId }),
    );
  } catch (err) {
    if (!isGone(err)) throw err;
  }
}
