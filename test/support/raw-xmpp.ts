import { decode as b64decode, encode as b64encode } from "@xmpp/base64";
import plain from "@xmpp/sasl-plain";
import scramsha1 from "@xmpp/sasl-scram-sha-1";
import { Element, xml } from "@xmpp/xml";
import Factory from "saslmechanisms";
import { SaxesParser } from "saxes";
import WebSocket from "ws";

// A deliberately small RFC 7395 client for tests that need what a real client library hides: exact
// frames, pipelined bursts, hostile bytes, the close code. Every WebSocket message is one frame; frames
// the server sends are parsed on arrival (saxes, namespace-aware) and read in order with next().

export const NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
export const NS_SM = "urn:xmpp:sm:3";
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const NS_STREAMS = "http://etherx.jabber.org/streams";
export const NS_XMPP_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";

export interface CloseInfo {
  code: number;
  reason: string;
}

/** Parses one frame from the server into an Element (the server's frames are one element each). */
export function parseServerFrame(text: string): Element {
  const parser = new SaxesParser({ xmlns: true });
  const open: Element[] = [];
  let root: Element | undefined;
  parser.on("opentag", (tag) => {
    const attrs: Record<string, string> = {};
    for (const [name, a] of Object.entries(tag.attributes)) attrs[name] = a.value;
    const el = new Element(tag.name, attrs);
    const parent = open[open.length - 1];
    if (parent) parent.cnode(el);
    else root = el;
    open.push(el);
  });
  parser.on("closetag", () => {
    open.pop();
  });
  parser.on("text", (t) => {
    open[open.length - 1]?.t(t);
  });
  parser.write(text).close();
  if (!root) throw new Error(`server frame without an element: ${text}`);
  return root;
}

export class RawXmpp {
  /** Every frame received, in order; `cursor` is how many next() has consumed. */
  readonly frames: Element[] = [];
  readonly texts: string[] = [];
  cursor = 0;
  /** Resolves when the socket is closed, with the close code the client saw. */
  readonly closed: Promise<CloseInfo>;
  closeInfo: CloseInfo | undefined;
  private waiters: Array<() => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? "" : data.toString();
      this.texts.push(text);
      try {
        this.frames.push(parseServerFrame(text));
      } catch {
        this.frames.push(xml("unparsable", {}, text));
      }
      this.wake();
    });
    ws.on("error", () => {});
    this.closed = new Promise((resolve) => {
      ws.once("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.wake();
        resolve(this.closeInfo);
      });
    });
  }

  static async connect(url: string): Promise<RawXmpp> {
    const ws = new WebSocket(url, "xmpp");
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new RawXmpp(ws);
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends one frame: a string or element as text, a Buffer as a binary message. */
  send(frame: string | Element | Buffer): void {
    if (Buffer.isBuffer(frame)) this.ws.send(frame, { binary: true });
    else this.ws.send(typeof frame === "string" ? frame : frame.toString());
  }

  /** The next unread frame matching `pred` (frames before it are consumed); fails on timeout or close. */
  async next(
    pred: (el: Element) => boolean = () => true,
    timeoutMs = 5000,
    what = "a frame",
  ): Promise<Element> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const el = this.frames[this.cursor++] as Element;
        if (pred(el)) return el;
      }
      if (this.closeInfo) throw new Error(`socket closed (${this.closeInfo.code}) before ${what}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; got: ${this.texts.join(" | ")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for the socket to close; fails if it stays open `timeoutMs`. */
  async waitClosed(timeoutMs = 5000): Promise<CloseInfo> {
    return Promise.race([
      this.closed,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`socket still open after ${timeoutMs} ms`)), timeoutMs).unref(),
      ),
    ]);
  }

  /** The stream error the server sent, if any: its condition and the element. */
  streamError(): { condition: string; error: Element } | undefined {
    const error = this.frames.find((f) => f.is("error", NS_STREAMS));
    if (!error) return undefined;
    const cond = error.children.find(
      (c): c is Element => typeof c !== "string" && c.getNS() === NS_XMPP_STREAMS && c.name !== "text",
    );
    return { condition: cond?.name ?? "", error };
  }

  close(): void {
    this.ws.close();
  }

  /** Drops the TCP connection with no close handshake, as a lost network does. */
  terminate(): void {
    this.ws.terminate();
  }
}

/** Sends <open/> and reads the server's <open/> and <features/>. */
export async function openStream(c: RawXmpp, domain: string): Promise<Element> {
  c.send(xml("open", { xmlns: NS_FRAMING, to: domain, version: "1.0" }));
  await c.next((f) => f.is("open", NS_FRAMING), 5000, "<open/>");
  return c.next((f) => f.is("features", NS_STREAMS), 5000, "<features/>");
}

export type Mechanism = "PLAIN" | "SCRAM-SHA-1";

/** Runs SASL on an opened stream; returns the <success/> or <failure/> element. */
export async function authenticate(
  c: RawXmpp,
  jid: string,
  password: string,
  mechanism: Mechanism = "PLAIN",
): Promise<Element> {
  const [username, domain] = jid.split("@") as [string, string];
  const factory = new Factory();
  if (mechanism === "PLAIN") plain(factory);
  else scramsha1(factory);
  const mech = factory.create([mechanism]);
  if (!mech) throw new Error(`no client module for ${mechanism}`);
  const creds = { username, password, server: domain, host: domain, serviceType: "xmpp" };
  const isEnd = (f: Element) => f.getNS() === NS_SASL && ["challenge", "success", "failure"].includes(f.name);
  c.send(xml("auth", { xmlns: NS_SASL, mechanism }, b64encode(await mech.response(creds))));
  for (;;) {
    const f = await c.next(isEnd, 5000, "a SASL answer");
    if (f.name !== "challenge") return f;
    await mech.challenge(b64decode(f.getText()));
    const response = await mech.response(creds);
    c.send(xml("response", { xmlns: NS_SASL }, b64encode(typeof response === "string" ? response : "")));
  }
}

export interface RawLogin {
  url: string;
  jid: string;
  password: string;
  resource?: string;
  mechanism?: Mechanism;
  /** Enable XEP-0198 (with resume="true") after binding. */
  sm?: boolean;
}

export interface RawSession {
  c: RawXmpp;
  /** The bound full JID. */
  jid: string;
  /** XEP-0198 <enabled/>, when asked for. */
  enabled?: Element;
}

/** Connects, authenticates, restarts and binds (optionally enables XEP-0198): a ready session. */
export async function rawLogin(login: RawLogin): Promise<RawSession> {
  const c = await authenticatedConnection(login);
  const jid = await bind(c, login.resource);
  if (!login.sm) return { c, jid };
  c.send(xml("enable", { xmlns: NS_SM, resume: "true" }));
  const enabled = await c.next((f) => f.getNS() === NS_SM, 5000, "<enabled/>");
  if (enabled.name !== "enabled") throw new Error(`XEP-0198 not enabled: ${enabled.toString()}`);
  return { c, jid, enabled };
}

/** Connects, authenticates and restarts the stream: a connection ready to bind. */
export async function authenticatedConnection(
  login: Pick<RawLogin, "url" | "jid" | "password" | "mechanism">,
): Promise<RawXmpp> {
  const c = await RawXmpp.connect(login.url);
  const domain = login.jid.split("@")[1] ?? "";
  await openStream(c, domain);
  const outcome = await authenticate(c, login.jid, login.password, login.mechanism);
  if (outcome.name !== "success") throw new Error(`login failed: ${outcome.toString()}`);
  await openStream(c, domain);
  return c;
}

/** Binds a resource on a restarted stream; returns the full JID. */
export async function bind(c: RawXmpp, resource?: string): Promise<string> {
  const id = `bind-${Math.random().toString(36).slice(2)}`;
  c.send(
    xml(
      "iq",
      { type: "set", id, xmlns: "jabber:client" },
      xml("bind", { xmlns: NS_BIND }, resource ? xml("resource", {}, resource) : undefined),
    ),
  );
  const result = await c.next((f) => f.is("iq") && f.attrs.id === id, 5000, "the bind result");
  const jid = result.getChild("bind", NS_BIND)?.getChildText("jid");
  if (result.attrs.type !== "result" || !jid) throw new Error(`bind failed: ${result.toString()}`);
  return jid;
}

/**
 * Asks for the server's XEP-0198 count until it reaches `h`: proof that the stanzas sent before were
 * handled. Asks again when an answer is lower, since an <r/> sent in the same millisecond as the
 * stanzas before it may be handled before them (frames of one connection are not ordered within a
 * millisecond: see shared/xmpp/session/store.ts).
 */
export async function awaitHandled(c: RawXmpp, h: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    c.send(xml("r", { xmlns: NS_SM }));
    const a = await c.next((f) => f.is("a", NS_SM), Math.max(1, deadline - Date.now()), `<a h="${h}"/>`);
    const got = Number(a.attrs.h);
    if (got === h) return;
    if (got > h) throw new Error(`the server counts ${got} stanzas, expected ${h}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A chat message with a body, as a frame. */
export function chat(to: string, body: string, id?: string): Element {
  return xml("message", { xmlns: "jabber:client", to, type: "chat", id }, xml("body", {}, body));
}

export { xml };
