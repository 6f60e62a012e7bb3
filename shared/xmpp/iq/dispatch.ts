import { type Element, xml } from "@xmpp/xml";
import { bareOf, type Jid, parseJid } from "../jid";
import { route } from "../routing/router";
import { fullJid, sendStanza, type Turn } from "../session/turn";
import type { StanzaErrorCondition } from "../stanza-errors";
import { stanzaError } from "../stanza-errors";

// Requests answered by the server: to the domain itself ("host"), to the sender's own account
// ("self"), or on behalf of another account ("bare"). One key per handler, Prosody-style:
// "get/host/http://jabber.org/protocol/disco#info:query". What no handler takes is answered
// service-unavailable (RFC 6120 8.4), and a handler that throws is answered internal-server-error:
// an iq request is never left unanswered.

export type IqTarget = "host" | "self" | "bare";

export interface IqContext {
  readonly iq: Element;
  /** The payload element (the iq's one child). */
  readonly payload: Element;
  readonly from: Jid;
  readonly to: Jid;
  /** The sender's own turn, when the request comes from a local session being processed now. */
  readonly turn?: Turn;
}

export type IqReply =
  | { ok: true; payload?: Element }
  /** A whole reply built by the feature (result or error), addressed by the dispatcher. */
  | { ok: "built"; reply: Element }
  | { ok: false; condition: StanzaErrorCondition; text?: string };

export type IqHandler = (ctx: IqContext) => Promise<IqReply>;

export interface IqFeature {
  /** Namespaces advertised in disco#info of the server (and of accounts, for "bare"/"self" ones). */
  readonly discoFeatures: readonly string[];
  readonly handlers: Readonly<Record<string, IqHandler>>;
}

export const iqKey = (type: "get" | "set", target: IqTarget, ns: string, name: string) =>
  `${type}/${target}/${ns}:${name}`;

export class IqRegistry {
  private readonly handlers = new Map<string, IqHandler>();
  readonly discoFeatures: string[] = [];

  add(feature: IqFeature): this {
    for (const [key, handler] of Object.entries(feature.handlers)) {
      if (this.handlers.has(key)) throw new Error(`two handlers for ${key}`);
      this.handlers.set(key, handler);
    }
    for (const f of feature.discoFeatures) if (!this.discoFeatures.includes(f)) this.discoFeatures.push(f);
    return this;
  }

  async dispatch(iq: Element, to: Jid, turn?: Turn): Promise<void> {
    const type = iq.attrs.type;
    // Answers to requests the server sent (roster pushes, pings): nothing to do with them.
    if (type === "result" || type === "error") return;
    const from = iq.attrs.from ? parseJid(iq.attrs.from) : undefined;
    const children = iq.getChildElements();
    if ((type !== "get" && type !== "set") || !from || children.length !== 1 || !iq.attrs.id) {
      if (type === "error") return;
      return reply(
        stanzaError(iq, "bad-request", { text: "an iq request has an id, a type get or set, and one child" }),
        turn,
      );
    }
    const payload = children[0] as Element;
    const target: IqTarget = !to.local ? "host" : bareOf(to) === bareOf(from) ? "self" : "bare";
    const handler = this.handlers.get(iqKey(type, target, payload.getNS() ?? "", payload.name));
    let out: IqReply;
    try {
      out = handler
        ? await handler({ iq, payload, from, to, turn })
        : { ok: false, condition: "service-unavailable" };
    } catch (err) {
      console.error(`iq ${iqKey(type, target, payload.getNS() ?? "", payload.name)} failed`, err);
      out = { ok: false, condition: "internal-server-error" };
    }
    const answer =
      out.ok === "built"
        ? Object.assign(out.reply, { attrs: { ...out.reply.attrs, from: iq.attrs.to, to: iq.attrs.from } })
        : out.ok
          ? xml(
              "iq",
              { type: "result", id: iq.attrs.id, from: iq.attrs.to, to: iq.attrs.from },
              ...(out.payload ? [out.payload] : []),
            )
          : stanzaError(iq, out.condition, { text: out.text });
    if (!answer.attrs.from) delete answer.attrs.from;
    return reply(answer, turn);
  }
}

/** A reply goes straight to the requesting connection when it is the one being processed. */
async function reply(answer: Element, turn?: Turn): Promise<void> {
  if (turn && answer.attrs.to === fullJid(turn.state)) {
    sendStanza(turn, answer);
    return;
  }
  await route(answer, turn);
}
