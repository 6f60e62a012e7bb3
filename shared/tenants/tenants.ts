// Tenants in the Directory table: the association, its contact, its domains (a sub-domain of the
// deployment's base domain, served at once; optionally its own domain, pending until a DNS TXT
// challenge is found), its quota overrides and the counters of its countable resources.
import { randomBytes } from "node:crypto";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { claimDomain } from "../directory/domains";
import { tenantKey } from "../directory/keys";
import { type Countable, type Quotas, quotasFromStored } from "./quotas";

export interface CustomDomain {
  readonly domain: string;
  readonly status: "pending" | "verified";
  /** The value the TXT record _relais-challenge.<domain> must hold. */
  readonly token: string;
}

export interface Tenant {
  readonly tenantId: string;
  readonly name: string;
  readonly contactEmail: string;
  /** The sub-domain of the base domain: the tenant's XMPP domain and PubSub service's parent. */
  readonly domain: string;
  readonly customDomain?: CustomDomain;
  readonly quotas: Quotas;
  readonly counts: Readonly<Record<Countable, number>>;
  readonly createdAt: string;
}

const table = () => tableName("Directory");

/** Random ids and tokens: base32-ish lowercase, so they fit in DNS labels and URLs as they are. */
export const randomId = (bytes: number): string =>
  randomBytes(bytes).toString("base64url").toLowerCase().replace(/[-_]/g, "x");

/** The DNS name whose TXT record proves control of a custom domain. */
export const challengeName = (domain: string): string => `_relais-challenge.${domain}`;

export async function createTenant(input: {
  name: string;
  contactEmail: string;
  domain: string;
  customDomain?: string;
}): Promise<Tenant | "domain-taken"> {
  const tenantId = `t${randomId(10)}`;
  if (!(await claimDomain(input.domain, tenantId))) return "domain-taken";
  const tenant: Tenant = {
    tenantId,
    name: input.name,
    contactEmail: input.contactEmail,
    domain: input.domain,
    ...(input.customDomain === undefined
      ? {}
      : { customDomain: { domain: input.customDomain, status: "pending", token: randomId(24) } }),
    quotas: quotasFromStored(undefined),
    counts: { accounts: 0, streams: 0, webhookEndpoints: 0 },
    createdAt: new Date().toISOString(),
  };
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: { ...tenantKey(tenantId), kind: "tenant", ...tenant },
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
  return tenant;
}

export async function getTenant(tenantId: string): Promise<Tenant | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: tenantKey(tenantId), ConsistentRead: true }),
  );
  const i = out.Item;
  if (!i) return undefined;
  const counts = (i.counts ?? {}) as Record<string, unknown>;
  const count = (k: Countable) => (typeof counts[k] === "number" ? (counts[k] as number) : 0);
  const custom = i.customDomain as CustomDomain | undefined;
  return {
    tenantId,
    name: String(i.name ?? ""),
    contactEmail: String(i.contactEmail ?? ""),
    // Tenants made from RELAIS_DOMAINS by the local hub have only their domain item: the name is the domain.
    domain: String(i.domain ?? i.name ?? ""),
    ...(custom ? { customDomain: custom } : {}),
    quotas: quotasFromStored(i.quotas),
    counts: {
      accounts: count("accounts"),
      streams: count("streams"),
      webhookEndpoints: count("webhookEndpoints"),
    },
    createdAt: String(i.createdAt ?? ""),
  };
}

/** Marks the custom domain verified once it is claimed as a hosted domain. */
export async function markCustomDomainVerified(tenantId: string): Promise<void> {
  await documents().send(
    new UpdateCommand({
      TableName: table(),
      Key: tenantKey(tenantId),
      UpdateExpression: "SET customDomain.#s = :v",
      ExpressionAttributeNames: { "#s": "status" },
      ExpressionAttributeValues: { ":v": "verified" },
    }),
  );
}

/**
 * Takes one unit of a countable resource, atomically against its limit; false when the tenant holds
 * its limit already. Give it back with releaseCount when the creation fails or is undone.
 */
export async function takeCount(tenant: Tenant, what: Countable): Promise<boolean> {
  const limit = tenant.quotas[what];
  try {
    await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: tenantKey(tenant.tenantId),
        // The counts map may be missing on tenants the local hub created from RELAIS_DOMAINS.
        UpdateExpression: "SET counts = if_not_exists(counts, :empty)",
        ExpressionAttributeValues: { ":empty": {} },
      }),
    );
    await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: tenantKey(tenant.tenantId),
        UpdateExpression: "SET counts.#w = if_not_exists(counts.#w, :zero) + :one",
        ConditionExpression: "attribute_not_exists(counts.#w) OR counts.#w < :limit",
        ExpressionAttributeNames: { "#w": what },
        ExpressionAttributeValues: { ":zero": 0, ":one": 1, ":limit": limit },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
    return false;
  }
}

export async function releaseCount(tenantId: string, what: Countable): Promise<void> {
  await documents()
    .send(
      new UpdateCommand({
        TableName: table(),
        Key: tenantKey(tenantId),
        UpdateExpression: "SET counts.#w = counts.#w - :one",
        ConditionExpression: "counts.#w > :zero",
        ExpressionAttributeNames: { "#w": what },
        ExpressionAttributeValues: { ":zero": 0, ":one": 1 },
      }),
    )
    .catch((err: Error) => {
      if (err.name !== "ConditionalCheckFailedException") throw err;
    });
}

/** Operator action (no HTTP route: tenants do not raise their own limits): overrides some of a tenant's quotas. */
export async function setQuotas(tenantId: string, quotas: Partial<Quotas>): Promise<void> {
  const current = (await getTenant(tenantId))?.quotas;
  if (!current) throw new Error(`no tenant ${tenantId}`);
  await documents().send(
    new UpdateCommand({
      TableName: table(),
      Key: tenantKey(tenantId),
      UpdateExpression: "SET quotas = :q",
      ExpressionAttributeValues: { ":q": { ...current, ...quotas } },
    }),
  );
}
