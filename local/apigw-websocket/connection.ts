// One accepted WebSocket connection: its activity clock, its two lifetime limits, and a close that happens
// once whoever asks for it (client, DeleteConnection, a limit, stop()).
import { isUtf8 } from "node:buffer";
import type { WebSocket } from "ws";
import type { CloseCause, ConnectionFacts } from "./events";
import type { ManagedConnection } from "./management-api";

// Close codes and reasons as API Gateway reports them (RFC 6455 §7.4.1 codes).
export const GOING_AWAY: CloseCause = { code: 1001, reason: "Going away" };
export const MESSAGE_TOO_BIG: CloseCause = { code: 1009, reason: "Message too big" };
export const DELETED: CloseCause = { code: 1000, reason: "Connection Closed Normally" };

/** The cause of a close the client (or the network) started, in API Gateway's $disconnect wording. */
export function clientCloseCause(code: number, reason: Buffer): CloseCause {
  if (code === 1005) return { code, reason: "Client-side close frame status not set" };
  if (code === 1006) return { code, reason: "Connection closed abnormally" };
  return { code, reason: reason.toString("utf8") };
}

export interface ConnectionLimits {
  idleTimeoutMs: number;
  maxConnectionMs: number;
}

export interface LiveConnection extends ManagedConnection {
  readonly facts: ConnectionFacts;
  readonly ws: WebSocket;
  /** False from the moment a close starts: frames still arriving are then dropped, posts get 410. */
  readonly isOpen: boolean;
  /** Set when the server side started the close; the client's echo of it is not the cause. */
  readonly serverCause: CloseCause | undefined;
  /** Tail of the handler chain when frames are handled one at a time. */
  queue: Promise<void>;
  /** An incoming data message: resets the idle clock. */
  touch(): void;
  send(data: Buffer): void;
  close(cause: CloseCause): void;
  /** Clears the timers once the socket is closed. */
  dispose(): void;
}

export function liveConnection(
  ws: WebSocket,
  facts: ConnectionFacts,
  limits: ConnectionLimits,
  onClosing: (conn: LiveConnection) => void,
): LiveConnection {
  let lastActiveAt = facts.connectedAt;
  let serverCause: CloseCause | undefined;
  let open = true;
  const idle = setTimeout(() => conn.close(GOING_AWAY), limits.idleTimeoutMs);
  const maxAge = setTimeout(() => conn.close(GOING_AWAY), limits.maxConnectionMs);

  const activity = () => {
    lastActiveAt = Date.now();
    idle.refresh();
  };

  const conn: LiveConnection = {
    facts,
    ws,
    queue: Promise.resolve(),
    connectedAt: facts.connectedAt,
    identity: facts.identity,
    get lastActiveAt() {
      return lastActiveAt;
    },
    get isOpen() {
      return open && ws.readyState === ws.OPEN;
    },
    get serverCause() {
      return serverCause;
    },
    touch: activity,
    send(data) {
      if (!conn.isOpen) return;
      activity();
      // API Gateway delivers text as text; anything that is not UTF-8 can only travel as binary.
      ws.send(data, { binary: !isUtf8(data) });
    },
    post(data) {
      conn.send(data);
    },
    delete() {
      conn.close(DELETED);
    },
    close(cause) {
      if (!open) return;
      open = false;
      serverCause = cause;
      conn.dispose();
      onClosing(conn);
      ws.close(cause.code, cause.reason);
    },
    dispose() {
      clearTimeout(idle);
      clearTimeout(maxAge);
    },
  };
  ws.once("close", () => {
    open = false;
  });
  return conn;
}
