import { type Client, client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import WebSocket from "ws";
import { applyRosterChanges } from "../../shared/directory/rosters";
import { parseFrame } from "../../shared/xmpp/frame-parser";
import { NS_BIND, NS_FRAMING, NS_SASL } from "../../shared/xmpp/namespaces";
import type { Subscription } from "../../shared/xmpp/roster/items";
import { sessionsOf } from "../../shared/xmpp/session/store";
import { b64, ScramClient, unb64 } from "../sasl/helpers";
import type { TestHub } from "../support/hub";
import { type connectClient, ignoreLateFrames, waitFor, xml } from "../support/xmpp-client";

// Helpers shared by the end-to-end XMPP tests: a few waits on what the hub stored (tests run the hub in
// their own process), and a raw RFC 7395 client for what @xmpp/client cannot be made to send.

export { waitFor, xml };
export type Connected = Awaited<ReturnType<typeof connectClient>>;

/** Polls `check` until it holds. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000) {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Waits until the session of `full` is stored as available (or not). A session's state is saved after
 * its replies are sent, so a reply seen by the client does not yet mean another sender's routing sees it.
 */
export async function storedAvailable(full: string, available = true): Promise<void> {
  const [bare, resource] = full.split("/") as [string, string];
  await until(
    async () => (await sessionsOf(bare)).some((s) => s.resource === resource && s.available) === available,
    `${full} stored as ${available ? "available" : "unavailable"}`,
  );
}

/** An @xmpp/client, not started, that logs in with PLAIN, or with its own choice (SCRAM-SHA-1) if `scram`. */
export function newClient(
  t: TestHub,
  jid: string,
  password: string,
  opts: { resource?: string; scram?: boolean } = {},
) {
  const [username, domain] = jid.split("@") as [string, string];
  const xmpp = ignoreLateFrames(
    client({
      service: t.wsUrl,
      domain,
      username,
      password,
      resource: opts.resource,
      // The JS PBKDF2 of its SCRAM-SHA-1 takes about a second per login on a busy machine: tests that are not
      // about authentication log in with PLAIN (the auth tests cover SCRAM).
      credentials: opts.scram ? undefined : (authenticate) => authenticate({ username, password }, "PLAIN"),
    }),
  );
  const inbox: Element[] = [];
  xmpp.on("stanza", (s: Element) => inbox.push(s));
  xmpp.on("error", () => {});
  return { xmpp, inbox };
}

/** Logs in with @xmpp/client, optionally asks for the roster, and sends available presence. */
export async function online(
  t: TestHub,
  jid: string,
  opts: {
    resource?: string;
    roster?: boolean;
    presence?: Element | false;
    password?: string;
    noStreamManagement?: boolean;
  } = {},
): Promise<Connected & { full: string }> {
  const password = opts.password ?? (await t.account(jid)).password;
  const c = newClient(t, jid, password, { resource: opts.resource });
  if (opts.noStreamManagement) withoutStreamManagement(c.xmpp);
  await c.xmpp.start();
  const full = c.xmpp.jid?.toString() ?? "";
  if (opts.roster)
    await c.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })));
  if (opts.presence !== false) {
    await c.xmpp.send(opts.presence ?? xml("presence"));
    await storedAvailable(full);
  }
  return { ...c, full };
}

/** The condition of the error a request gets back, or "result". */
export async function iqOutcome(xmpp: Client, iq: Element): Promise<string> {
  try {
    await xmpp.iqCaller.request(iq, 5000);
    return "result";
  } catch (err) {
    const condition = (err as { condition?: string }).condition;
    if (!condition) throw err;
    return condition;
  }
}

/** The stanza error condition of an error stanza. */
export function errorCondition(stanza: Element): string | undefined {
  return stanza.getChild("error")?.getChildElements()[0]?.name;
}

/** Writes roster items straight to the directory: tests of presence start from a known subscription. */
export async function seedRoster(owner: string, contacts: Record<string, Subscription>): Promise<void> {
  await applyRosterChanges(
    owner,
    Object.entries(contacts).map(([jid, subscription]) => ({
      kind: "put" as const,
      item: { jid, groups: [], subscription },
    })),
  );
}

/**
 * Keeps @xmpp/client from enabling XEP-0198: its stream-features middleware never sees <sm/>. It listens
 * to the same element objects, so removing the child before it runs is enough.
 */
export function withoutStreamManagement(xmpp: Client): void {
  xmpp.prependListener("element", (el: Element) => {
    if (el.is("features", "http://etherx.jabber.org/streams")) {
      el.children = el.children.filter((c) => typeof c === "string" || c.name !== "sm");
    }
  });
}

const limits = { maxBytes: 1 << 20, maxDepth: 64, maxAttributesPerElement: 64 };

export type RawFrame =
  | { kind: "open"; to?: string; from?: string; id?: string }
  | { kind: "close" }
  | { kind: "element"; element: Element };

/** A bare RFC 7395 client over `ws`: sends text frames, collects what the server sends, parsed. */
export class RawStream {
  readonly frames: RawFrame[] = [];
  readonly closed: Promise<number>;
  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const parsed = parseFrame(data.toString(), limits);
      if (!parsed.ok) throw new Error(`server sent an unparsable frame: ${data.toString()}`);
      this.frames.push(parsed.frame);
    });
    this.closed = new Promise((r) => ws.once("close", (code) => r(code)));
  }

  static async connect(url: string): Promise<RawStream> {
    const ws = new WebSocket(url, "xmpp");
    await new Promise((res, rej) => {
      ws.once("open", res);
      ws.once("error", rej);
    });
    return new RawStream(ws);
  }

  send(frame: string | Element): void {
    this.ws.send(frame.toString());
  }

  /** Waits for the next element frame matching `pred` (after those already taken). */
  private taken = 0;
  async next(pred: (f: RawFrame) => boolean = () => true, timeoutMs = 5000): Promise<RawFrame> {
    const started = Date.now();
    for (;;) {
      const i = this.frames.findIndex((f, idx) => idx >= this.taken && pred(f));
      if (i >= 0) {
        this.taken = i + 1;
        return this.frames[i] as RawFrame;
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(
          `no matching frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map(show))}`,
        );
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async element(name: string, ns?: string, timeoutMs?: number): Promise<Element> {
    const f = await this.next((x) => x.kind === "element" && x.element.is(name, ns), timeoutMs);
    return (f as { element: Element }).element;
  }

  /** <open/>, then the features that follow it. */
  async open(domain: string): Promise<Element> {
    this.send(xml("open", { xmlns: NS_FRAMING, to: domain, version: "1.0" }));
    await this.next((f) => f.kind === "open");
    return this.element("features", "http://etherx.jabber.org/streams");
  }

  /** One PLAIN attempt; returns the <success/> or <failure/>. */
  async plain(user: string, password: string): Promise<Element> {
    this.send(xml("auth", { xmlns: NS_SASL, mechanism: "PLAIN" }, b64(`\0${user}\0${password}`)));
    return this.next(
      (f) => f.kind === "element" && (f.element.is("success", NS_SASL) || f.element.is("failure", NS_SASL)),
    ).then((f) => (f as { element: Element }).element);
  }

  /** A whole SCRAM exchange; returns the server's last element and whether its signature checked out. */
  async scram(hash: "SHA-1" | "SHA-256", user: string, password: string) {
    const client = new ScramClient(hash, user, password, `n0nce${Math.random().toString(36).slice(2)}`);
    this.send(xml("auth", { xmlns: NS_SASL, mechanism: `SCRAM-${hash}` }, b64(client.first())));
    const challenge = await this.element("challenge", NS_SASL);
    this.send(xml("response", { xmlns: NS_SASL }, b64(await client.final(unb64(challenge.text())))));
    const end = await this.next(
      (f) => f.kind === "element" && (f.element.is("success", NS_SASL) || f.element.is("failure", NS_SASL)),
    ).then((f) => (f as { element: Element }).element);
    return { end, verified: end.is("success") && unb64(end.text()) === client.expectedServerFinal };
  }

  /** Restart after SASL and bind; returns the bound full JID. */
  async bind(domain: string, resource?: string): Promise<string> {
    await this.open(domain);
    this.send(
      xml(
        "iq",
        { xmlns: "jabber:client", type: "set", id: "bind1" },
        xml("bind", { xmlns: NS_BIND }, resource ? xml("resource", {}, resource) : undefined),
      ),
    );
    const iq = await this.element("iq", "jabber:client");
    return iq.getChild("bind", NS_BIND)?.getChildText("jid") ?? "";
  }

  close(): void {
    this.ws.close();
  }
}

function show(f: RawFrame): string {
  return f.kind === "element" ? f.element.toString() : f.kind;
}
