import { parseFrame } from "../../shared/xmpp/frame-parser";
import { NS_SASL, NS_SM } from "../../shared/xmpp/namespaces";

// Readable names for inbound frames, to group per-frame figures. Uses the server's own frame parser so
// the label is what the server saw.

const limits = { maxBytes: 1 << 20, maxDepth: 64, maxAttributesPerElement: 64 };

const SHORT_NS: Record<string, string> = {
  "jabber:iq:roster": "roster",
  "urn:ietf:params:xml:ns:xmpp-bind": "bind",
  "urn:ietf:params:xml:ns:xmpp-session": "session",
  "http://jabber.org/protocol/disco#info": "disco#info",
  "http://jabber.org/protocol/disco#items": "disco#items",
  "urn:xmpp:ping": "ping",
  "http://jabber.org/protocol/pubsub": "pubsub",
  "http://jabber.org/protocol/pubsub#owner": "pubsub#owner",
};

export function frameLabel(body: string): string {
  const parsed = parseFrame(body, limits);
  if (!parsed.ok) return `invalid (${parsed.error.condition})`;
  const f = parsed.frame;
  if (f.kind === "open") return "<open/>";
  if (f.kind === "close") return "<close/>";
  const el = f.element;
  const ns = el.getNS();
  if (ns === NS_SASL)
    return el.name === "auth" ? `sasl <auth ${el.attrs.mechanism ?? ""}/>` : `sasl <${el.name}/>`;
  if (ns === NS_SM) return `sm <${el.name}/>`;
  if (el.name === "iq") {
    const child = el.children.find((c) => typeof c !== "string");
    const childNs = child && typeof child !== "string" ? child.getNS() : undefined;
    const what = childNs ? (SHORT_NS[childNs] ?? childNs) : "(empty)";
    return `iq ${el.attrs.type ?? "?"} ${what}`;
  }
  if (el.name === "message") return `message ${el.attrs.type ?? "normal"}`;
  if (el.name === "presence") {
    const type = el.attrs.type ?? "available";
    return el.attrs.to ? `presence ${type} (directed)` : `presence ${type}`;
  }
  return `<${el.name}/>`;
}
