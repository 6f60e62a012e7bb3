import { type Element, xml } from "@xmpp/xml";
import { NS_DELAY } from "./namespaces";

/**
 * A copy of `stanza` with a XEP-0203 delay stamp (`from` the server that kept it, `at` when it was
 * sent originally), unless it already carries one: a stanza is stamped once, by the first keeper.
 */
export function withDelay(stanza: Element, from: string, at: Date): Element {
  const stamped = xml(stanza.name, { ...stanza.attrs }, ...stanza.children);
  if (!stamped.getChild("delay", NS_DELAY)) {
    stamped.cnode(xml("delay", { xmlns: NS_DELAY, from, stamp: at.toISOString() }));
  }
  return stamped;
}
