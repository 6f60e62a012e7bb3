// The streams that carry a data subject's personal data: the tenant's nodes whose dataSubject is them.
import { pubsubServiceOf } from "../directory/domains";
import { listNodes, type NodeRecord } from "../pubsub/store";

/** The tenant's streams about `subject` (bare JID), on the PubSub service of the tenant's domain. */
export async function streamsOfSubject(tenantDomain: string, subject: string): Promise<NodeRecord[]> {
  const nodes = await listNodes(pubsubServiceOf(tenantDomain));
  return nodes.filter((n) => n.config.dataSubject === subject);
}
