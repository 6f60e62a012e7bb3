import type { StoredItem } from "../pubsub/store";
import { parsePackElement, toJson } from "../senml";
import { parseStored } from "../xmpp/stored-xml";

// The body of a stream.item delivery, made once when the delivery is created and kept with it: every
// attempt sends the same bytes, whatever happens to the item (retention, max_items) in between.

export interface StreamItemPayload {
  readonly type: "stream.item";
  /** The node id. */
  readonly stream: string;
  readonly itemId: string;
  /** ISO 8601. */
  readonly publishedAt: string;
  /** Bare JID. */
  readonly publisher: string;
  /** The pack as resolved SenML JSON records (RFC 8428 section 4.6): absolute names and times. */
  readonly senml: unknown[];
}

/** `names`: a consent's minimisation, only the records of these resolved names are sent. */
export function streamItemPayload(item: StoredItem, names?: readonly string[]): string {
  const parsed = parsePackElement(parseStored(item.payload), { now: item.publishedAt / 1000 });
  // Items are validated when published: a stored one that does not parse is a bug worth a retry's noise.
  if (!parsed.ok) throw new Error(`stored item ${item.node}/${item.itemId} is not valid SenML any more`);
  const body: StreamItemPayload = {
    type: "stream.item",
    stream: item.node,
    itemId: item.itemId,
    publishedAt: new Date(item.publishedAt).toISOString(),
    publisher: item.publisher,
    senml: JSON.parse(
      toJson(names ? parsed.records.filter((r) => names.includes(r.n)) : parsed.records),
    ) as unknown[],
  };
  return JSON.stringify(body);
}
