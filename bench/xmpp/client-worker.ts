import { parentPort } from "node:worker_threads";
import type { Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { connectClient, xml } from "../../test/support/xmpp-client";
import type { ChatArgs, ChatResult, LoginArgs, LoginResult, Reply, Request } from "./protocol";

// The XMPP clients of a benchmark, in a worker thread: @xmpp/client computes SCRAM's PBKDF2 in 10,000
// awaited HMAC steps, which would otherwise share the hub's event loop and inflate handler times.

interface Session {
  xmpp: Client;
  /** Waiters for a message body, resolved by the 'stanza' listener. */
  waiting: Map<string, (at: number) => void>;
}

const sessions = new Map<string, Session>();

async function login(key: string, args: LoginArgs): Promise<LoginResult> {
  const started = performance.now();
  const { xmpp } = await connectClient(args);
  const session: Session = { xmpp, waiting: new Map() };
  xmpp.on("stanza", (s: Element) => {
    if (!s.is("message")) return;
    const body = s.getChildText("body");
    const waiter = body === null ? undefined : session.waiting.get(body);
    if (waiter) {
      session.waiting.delete(body as string);
      waiter(performance.now());
    }
  });
  sessions.set(key, session);
  if (args.rosterAndPresence) {
    await xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })));
    await xmpp.send(xml("presence"));
  }
  return { ms: performance.now() - started, jid: xmpp.jid?.toString() ?? "" };
}

async function chat(args: ChatArgs): Promise<ChatResult> {
  const from = sessions.get(args.from);
  const to = sessions.get(args.to);
  if (!from || !to) throw new Error("chat: unknown session");
  const latenciesMs: number[] = [];
  for (let i = 0; i < args.count; i++) {
    const body = `bench ${args.from}->${args.to} #${i} ${Math.random().toString(36).slice(2)}`;
    const arrived = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`message ${i} not delivered within 10 s`)), 10_000);
      to.waiting.set(body, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
    const sent = performance.now();
    await from.xmpp.send(xml("message", { to: args.toJid, type: "chat" }, xml("body", {}, body)));
    latenciesMs.push((await arrived) - sent);
    if (args.gapMs > 0) await new Promise((r) => setTimeout(r, args.gapMs));
  }
  return { latenciesMs };
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case "login":
      return login(req.key, req.args);
    case "logout": {
      const s = sessions.get(req.key);
      sessions.delete(req.key);
      await s?.xmpp.stop();
      return undefined;
    }
    case "chat":
      return chat(req.args);
  }
}

const port = parentPort;
if (!port) throw new Error("client-worker.ts runs in a worker thread");
port.on("message", (req: Request) => {
  handle(req).then(
    (result) => port.postMessage({ id: req.id, ok: true, result } satisfies Reply),
    (err: unknown) => port.postMessage({ id: req.id, ok: false, error: String(err) } satisfies Reply),
  );
});
