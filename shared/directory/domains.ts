import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { domainKey, tenantKey } from "./keys";

export interface HostedDomain {
  readonly domain: string;
  readonly tenantId: string;
}

// Domains change rarely and are read on every stream open and every routed stanza: a warm function
// keeps answers for a short while. A removed domain stops being served within this delay.
const CACHE_MS = 30_000;
const cache = new Map<string, { value: HostedDomain | undefined; until: number }>();

/** The tenant hosting `domain`, or undefined when this deployment does not host it. */
export async function hostedDomain(domain: string): Promise<HostedDomain | undefined> {
  const d = domain.toLowerCase();
  const hit = cache.get(d);
  if (hit && hit.until > Date.now()) return hit.value;
  const out = await documents().send(
    new GetCommand({ TableName: tableName("Directory"), Key: domainKey(d) }),
  );
  const value = out.Item ? { domain: d, tenantId: String(out.Item.tenantId) } : undefined;
  cache.set(d, { value, until: Date.now() + CACHE_MS });
  return value;
}

// Each hosted domain's tenant has a PubSub service (XEP-0060) at this subdomain: its data streams.
const PUBSUB_PREFIX = "pubsub.";

/** The PubSub service JID of a hosted domain. */
export const pubsubServiceOf = (domain: string): string => `${PUBSUB_PREFIX}${domain.toLowerCase()}`;

/** The hosted domain whose PubSub service `service` is (pubsub.<domain>), or undefined. */
export async function pubsubServiceDomain(service: string): Promise<HostedDomain | undefined> {
  const s = service.toLowerCase();
  if (!s.startsWith(PUBSUB_PREFIX)) return undefined;
  return hostedDomain(s.slice(PUBSUB_PREFIX.length));
}

/** Creates a tenant with one domain, or leaves an existing one as it is. */
export async function ensureTenantDomain(tenantId: string, name: string, domain: string): Promise<void> {
  const d = domain.toLowerCase();
  const table = tableName("Directory");
  const now = new Date().toISOString();
  await documents()
    .send(
      new PutCommand({
        TableName: table,
        Item: { ...tenantKey(tenantId), kind: "tenant", tenantId, name, createdAt: now },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    )
    .catch(ignoreExisting);
  await documents()
    .send(
      new PutCommand({
        TableName: table,
        Item: { ...domainKey(d), kind: "domain", domain: d, tenantId, createdAt: now },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    )
    .catch(ignoreExisting);
  cache.delete(d);
}

function ignoreExisting(err: unknown): void {
  if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
}

/**
 * Makes `domain` a hosted domain of `tenantId`, served by XMPP from now on; false when another tenant
 * (or this one) holds it already. Conditional, so two sign-ups racing for one domain cannot both win.
 */
export async function claimDomain(domain: string, tenantId: string): Promise<boolean> {
  const d = domain.toLowerCase();
  try {
    await documents().send(
      new PutCommand({
        TableName: tableName("Directory"),
        Item: { ...domainKey(d), kind: "domain", domain: d, tenantId, createdAt: new Date().toISOString() },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return false;
    throw err;
  } finally {
    cache.delete(d);
  }
}
