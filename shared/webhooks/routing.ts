import { recipientKey } from "../consent/record";
import { consentVerdict } from "../consent/store";
import { getNode, type NodeRecord } from "../pubsub/store";
import type { EndpointRecord } from "./endpoints";

// Whether one published item goes to one endpoint: the single place this is decided, at fan-out and
// again before each attempt (an endpoint may be disabled or narrowed meanwhile, a consent withdrawn or
// expired). A stream of personal data (its data subject is set) goes only to an endpoint the subject
// consented to, and only the SenML names that consent covers.

export interface StreamEvent {
  readonly tenantId: string;
  /** The tenant's PubSub service (pubsub.<domain>) and the node id: the stream. */
  readonly service: string;
  readonly node: string;
  readonly itemId: string;
  /** Bare JID of the publisher. */
  readonly publisher: string;
}

export type Decision =
  | { deliver: true; consentId?: string; names?: readonly string[] }
  | { deliver: false; reason: string };

/** `node`: the stream, when the caller has read it already (once for all its endpoints). */
export async function shouldDeliver(
  endpoint: EndpointRecord,
  event: StreamEvent,
  node?: NodeRecord,
): Promise<Decision> {
  if (endpoint.tenantId !== event.tenantId) return { deliver: false, reason: "endpoint of another tenant" };
  if (!endpoint.enabled) return { deliver: false, reason: "endpoint disabled" };
  if (endpoint.streams !== "all" && !endpoint.streams.includes(event.node)) {
    return { deliver: false, reason: `endpoint no longer subscribed to stream ${event.node}` };
  }
  const subject = (node ?? (await getNode(event.service, event.node)))?.config.dataSubject;
  if (subject === undefined) return { deliver: true };
  const me = recipientKey({ kind: "webhook", id: endpoint.id });
  const verdict = await consentVerdict(event.service, event.node, subject, { key: me });
  if (!verdict.allowed)
    return { deliver: false, reason: `${verdict.reason} of ${subject} for this endpoint` };
  return {
    deliver: true,
    ...(verdict.consentId ? { consentId: verdict.consentId } : {}),
    ...(verdict.names ? { names: verdict.names } : {}),
  };
}
