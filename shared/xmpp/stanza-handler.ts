import type { Element } from "@xmpp/xml";
import { handleClientPresence } from "./features/presence";
import { parseJid } from "./jid";
import { route } from "./routing/router";
import { iqRegistry } from "./server";
import { fullJid, sendStanza, type Turn } from "./session/turn";
import { stanzaError } from "./stanza-errors";

/** A stanza from a bound client: stamped with its full JID (RFC 6120 8.1.2.1), then routed. */
export async function handleStanza(turn: Turn, el: Element): Promise<void> {
  const user = turn.state.user ?? "";
  el.attrs.from = fullJid(turn.state) ?? user;
  const to = el.attrs.to;
  if (to !== undefined && !parseJid(to)) {
    if (el.name !== "presence" && el.attrs.type !== "error") {
      sendStanza(turn, stanzaError(el, "jid-malformed", { text: `"${to}" is not a valid JID` }));
    }
    return;
  }
  switch (el.name) {
    case "presence":
      return handleClientPresence(turn, el);
    case "message":
      // RFC 6120 10.3.1: no 'to' means the sender's own bare JID.
      if (to === undefined) el.attrs.to = user;
      return route(el, turn);
    default: {
      const self = parseJid(user);
      if (to === undefined && self) return iqRegistry.dispatch(el, self, turn);
      return route(el, turn);
    }
  }
}
