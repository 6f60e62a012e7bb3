import type { EndpointRecord } from "./endpoints";

// Whether one published item goes to one endpoint: the single place this is decided, at fan-out and
// again before each attempt (an endpoint may be disabled or narrowed meanwhile). The consent check of
// issue 8 belongs here; it is async so that it can read the consent store.

export interface StreamEvent {
  readonly tenantId: string;
  /** The tenant's PubSub service (pubsub.<domain>) and the node id: the stream. */
  readonly service: string;
  readonly node: string;
  readonly itemId: string;
  /** Bare JID of the publisher. */
  readonly publisher: string;
}

export type Decision = { deliver: true } | { deliver: false; reason: string };

export async function shouldDeliver(endpoint: EndpointRecord, event: StreamEvent): Promise<Decision> {
  if (endpoint.tenantId !== event.tenantId) return { deliver: false, reason: "endpoint of another tenant" };
  if (!endpoint.enabled) return { deliver: false, reason: "endpoint disabled" };
  if (endpoint.streams !== "all" && !endpoint.streams.includes(event.node)) {
    return { deliver: false, reason: `endpoint no longer subscribed to stream ${event.node}` };
  }
  return { deliver: true };
}
