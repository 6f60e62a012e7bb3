import { type Element, xml } from "@xmpp/xml";
import { NS_PUBSUB } from "../../shared/xmpp/namespaces";
import { parseServerFrame, type RawXmpp, rawLogin } from "../../test/support/raw-xmpp";

// Light RFC 7395 clients for the fan-out bench: a thousand @xmpp/client sessions would cost more than
// the hub they measure. They log in with SASL PLAIN, enable XEP-0198 like a real client, answer the
// server's <r/> with the count of stanzas received, and time notifications by item id with a regular
// expression rather than a parser.

const NS_SM = "urn:xmpp:sm:3";
const STANZA = /^<(message|presence|iq)[\s>/]/;
const ACK_REQUEST = /^<r[\s/>]/;
const NOTIFIED_ITEM = /<item[^>]*\sid=(["'])([^"']*)\1/g;

/** A subscriber: logged in, available, counting what it receives. */
export class Subscriber {
  /** Item id → when the notification arrived (performance.now()). */
  readonly arrivals = new Map<string, number>();
  private handled = 0;

  private constructor(
    readonly jid: string,
    private readonly c: RawXmpp,
  ) {
    c.ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (STANZA.test(text)) {
        this.handled++;
        if (text.startsWith("<message") && text.includes("pubsub#event")) {
          const at = performance.now();
          for (const m of text.matchAll(NOTIFIED_ITEM)) {
            const id = m[2] ?? "";
            if (!this.arrivals.has(id)) this.arrivals.set(id, at);
          }
        }
      } else if (ACK_REQUEST.test(text) && text.includes(NS_SM)) {
        c.send(xml("a", { xmlns: NS_SM, h: String(this.handled) }));
      }
    });
  }

  /** Logs in (PLAIN, bind, XEP-0198 enable) and sends initial presence. */
  static async login(url: string, jid: string, password: string): Promise<Subscriber> {
    const { c } = await rawLogin({ url, jid, password, sm: true });
    const s = new Subscriber(jid, c);
    c.send(xml("presence", { xmlns: "jabber:client" }));
    return s;
  }

  close(): void {
    this.c.send(xml("close", { xmlns: "urn:ietf:params:xml:ns:xmpp-framing" }));
    this.c.close();
  }
}

/** A publisher without XEP-0198: sends iqs and matches their answers by id, so they can overlap. */
export class Publisher {
  private readonly waiting = new Map<string, (iq: Element) => void>();
  private seq = 0;

  private constructor(
    readonly jid: string,
    private readonly c: RawXmpp,
  ) {
    c.ws.on("message", (data, isBinary) => {
      if (isBinary) return;
      const text = data.toString();
      if (!text.startsWith("<iq")) return;
      const iq = parseServerFrame(text);
      const id = String(iq.attrs.id ?? "");
      const resolve = this.waiting.get(id);
      this.waiting.delete(id);
      resolve?.(iq);
    });
  }

  static async login(url: string, jid: string, password: string): Promise<Publisher> {
    const { c } = await rawLogin({ url, jid, password });
    return new Publisher(jid, c);
  }

  /** Sends an iq; resolves with its answer (result or error). */
  iq(to: string, type: "get" | "set", child: Element, timeoutMs = 120_000): Promise<Element> {
    const id = `b${++this.seq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`no answer to iq ${id} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, (iq) => {
        clearTimeout(timer);
        resolve(iq);
      });
      this.c.send(xml("iq", { xmlns: "jabber:client", type, to, id }, child));
    });
  }

  /** Creates a node with the open access model. */
  async createOpenNode(service: string, node: string): Promise<void> {
    const field = (v: string, value: string, type?: string) =>
      xml("field", { var: v, type }, xml("value", {}, value));
    const answer = await this.iq(
      service,
      "set",
      xml(
        "pubsub",
        { xmlns: NS_PUBSUB },
        xml("create", { node }),
        xml(
          "configure",
          {},
          xml(
            "x",
            { xmlns: "jabber:x:data", type: "submit" },
            field("FORM_TYPE", "http://jabber.org/protocol/pubsub#node_config", "hidden"),
            field("pubsub#access_model", "open"),
          ),
        ),
      ),
    );
    if (answer.attrs.type !== "result") throw new Error(`node not created: ${answer.toString()}`);
  }

  /** Publishes one item; resolves when the service answered, with the answer's type. */
  async publish(service: string, node: string, itemId: string, payload: Element): Promise<string> {
    const answer = await this.iq(
      service,
      "set",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id: itemId }, payload))),
    );
    return String(answer.attrs.type);
  }

  close(): void {
    this.c.send(xml("close", { xmlns: "urn:ietf:params:xml:ns:xmpp-framing" }));
    this.c.close();
  }
}

/** A small SenML pack of one power reading. */
export function reading(value: number, at: number): Element {
  return xml(
    "sensml",
    { xmlns: "urn:ietf:params:xml:ns:senml" },
    xml("senml", {
      bn: "urn:dev:prm:30001610071843_consumption/power/active/raw",
      bt: String(at),
      v: String(value),
      bu: "W",
    }),
  );
}
