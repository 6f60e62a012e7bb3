import type { Element } from "@xmpp/xml";
import { parseFrame } from "./frame-parser";

// Stanzas the server wrote itself (offline messages, XEP-0198 queues, last presence) are read back
// with the same strict parser, but without the per-frame limits meant for what clients send.
const storedLimits = { maxBytes: 1024 * 1024, maxDepth: 256, maxAttributesPerElement: 256 };

export function parseStored(text: string): Element {
  const parsed = parseFrame(text, storedLimits);
  if (!parsed.ok || parsed.frame.kind !== "element") {
    throw new Error(`stored stanza is unreadable: ${parsed.ok ? parsed.frame.kind : parsed.error.text}`);
  }
  return parsed.frame.element;
}
