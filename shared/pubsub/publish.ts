// Publishing a SenML pack to a stream: the one code path of both doors (an XMPP PubSub publish and an HTTP
// ingest). Whoever calls has found the node and decided the caller may publish; this validates the pack
// against SenML and the stream's configuration, stores it, applies the retention and hands it to fan-out.
import { randomUUID } from "node:crypto";
import { type Element, xml } from "@xmpp/xml";
import { enqueueFanout } from "../fanout/enqueue";
import { formatSenmlErrors, NS_SENML, parsePackElement, type RawRecord, type SenmlError } from "../senml";
import { epochSeconds } from "../storage/ttl";
import { baseNameOf, type NodeConfig } from "./config";
import { fail, type PubsubFailure } from "./errors";
import * as store from "./store";

/** Largest stored payload, in characters: an item must fit a DynamoDB item and an XMPP stanza. */
export const MAX_PAYLOAD_CHARS = 96 * 1024;
export const MAX_ITEM_ID = 256;

export interface PublishInput {
  readonly node: store.NodeRecord;
  /** A <sensml xmlns="urn:ietf:params:xml:ns:senml"> element. */
  readonly sensml: Element;
  /** The item id; a random one when absent. Publishing the same id again replaces the item. */
  readonly itemId?: string;
  /** Bare JID recorded as the publisher. */
  readonly publisher: string;
}

export type PublishOutcome =
  | { readonly ok: true; readonly itemId: string; readonly publishedAt: number }
  | { readonly ok: false; readonly failure: PubsubFailure; readonly senmlErrors?: readonly SenmlError[] };

const refused = (failure: PubsubFailure, senmlErrors?: readonly SenmlError[]): PublishOutcome => ({
  ok: false,
  failure,
  ...(senmlErrors ? { senmlErrors } : {}),
});

export async function publishPack(input: PublishInput): Promise<PublishOutcome> {
  const { node, sensml } = input;
  if (sensml.name !== "sensml" || sensml.getNS() !== NS_SENML) {
    return refused(
      fail("invalid-payload", `the payload must be a <sensml xmlns="${NS_SENML}"> pack (RFC 8428)`),
    );
  }
  const stored = xml("sensml", { ...sensml.attrs, xmlns: NS_SENML }, ...sensml.children).toString();
  if (stored.length > MAX_PAYLOAD_CHARS) {
    return refused(fail("payload-too-big", `the payload is larger than ${MAX_PAYLOAD_CHARS} characters`));
  }
  const parsed = parsePackElement(sensml, { now: Date.now() / 1000 });
  if (!parsed.ok) return refused(fail("invalid-payload", formatSenmlErrors(parsed.errors)), parsed.errors);
  const mismatch = streamMismatch(node.node, node.config, parsed.pack);
  if (mismatch.length > 0) return refused(fail("invalid-payload", formatSenmlErrors(mismatch)), mismatch);

  const itemId = input.itemId || randomUUID();
  if (itemId.length > MAX_ITEM_ID)
    return refused(fail("bad-request", `an item id has at most ${MAX_ITEM_ID} characters`));
  const { config } = node;
  const publishedAt = Date.now();
  await store.putItem(
    {
      service: node.service,
      node: node.node,
      itemId,
      payload: stored,
      publisher: input.publisher,
      publishedAt,
    },
    config.itemExpire > 0 ? epochSeconds() + config.itemExpire : undefined,
  );
  // The fan-out job carries the item, so trimming the node need not come first: it runs beside the
  // hand-off, off the path to the subscribers.
  await Promise.all([
    enqueueFanout({
      tenantId: node.tenantId,
      service: node.service,
      node: node.node,
      itemId,
      item: { payload: stored, publisher: input.publisher, publishedAt },
    }),
    store.trimItems(node.service, node.node, config.maxItems),
  ]);
  return { ok: true, itemId, publishedAt };
}

/**
 * What in a valid pack does not fit the stream: a name outside the configured base name, a unit not among
 * the node's units. The base name is only enforced when configured explicitly (the node id is a default
 * for display, not a constraint); the units when the list is not empty.
 */
export function streamMismatch(node: string, config: NodeConfig, pack: readonly RawRecord[]): SenmlError[] {
  const problems: SenmlError[] = [];
  let bn = "";
  let bu: string | undefined;
  pack.forEach((r, index) => {
    if (r.bn !== undefined) bn = r.bn;
    if (r.bu !== undefined) bu = r.bu;
    const name = bn + (r.n ?? "");
    if (config.senmlBaseName !== undefined && !name.startsWith(config.senmlBaseName)) {
      problems.push({
        record: index,
        field: "n",
        reason: `the name "${name}" is not under the stream's base name "${baseNameOf(node, config)}"`,
      });
    }
    const unit = r.u ?? bu;
    if (config.units.length > 0 && unit !== undefined && !config.units.includes(unit)) {
      problems.push({
        record: index,
        field: r.u !== undefined ? "u" : "bu",
        reason: `unit "${unit}" is not one of the stream's units (${config.units.join(", ")})`,
      });
    }
  });
  return problems;
}
