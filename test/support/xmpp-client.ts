import { type Client, client, xml } from "@xmpp/client";
import WebSocket from "ws";

// Node 20 has no global WebSocket; @xmpp/websocket looks for one (INTEROP-NOTES).
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

/**
 * @xmpp/client 0.14 throws from its socket listener (an uncaught TypeError, "reading 'write'") when a
 * frame arrives after it detached its parser, e.g. a stanza the server sent just before answering the
 * client's <close/>. RFC 7395 allows such frames; the client should drop them. Tests drop them for it.
 */
export function ignoreLateFrames(xmpp: Client): Client {
  const entity = xmpp as unknown as { _onData(data: unknown): void; parser: unknown };
  const onData = entity._onData.bind(entity);
  entity._onData = (data) => {
    if (entity.parser) onData(data);
  };
  return xmpp;
}

export interface Login {
  service: string;
  jid: string;
  password: string;
  resource?: string;
}

/** An @xmpp/client connected and online; stanzas it receives are collected in `inbox`. */
export async function connectClient(
  login: Login,
): Promise<{ xmpp: Client; inbox: import("@xmpp/xml").Element[] }> {
  const [username, domain] = login.jid.split("@") as [string, string];
  const xmpp = ignoreLateFrames(
    client({
      service: login.service,
      domain,
      username,
      password: login.password,
      resource: login.resource,
    }),
  );
  const inbox: import("@xmpp/xml").Element[] = [];
  xmpp.on("stanza", (s: import("@xmpp/xml").Element) => inbox.push(s));
  xmpp.on("error", () => {});
  await xmpp.start();
  return { xmpp, inbox };
}

/** Waits until `inbox` holds a stanza matching `pred`, and returns it. */
export async function waitFor<T>(inbox: T[], pred: (s: T) => boolean, timeoutMs = 5000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const found = inbox.find(pred);
    if (found) return found;
    if (Date.now() - started > timeoutMs) throw new Error(`no matching stanza within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { xml };
