import { createEndpoint, deleteEndpoint } from "../../shared/webhooks";

// What an association's admin does before its meter can push data: sign up, declare a stream, make an
// ingest key for it (all with curl-like requests to /v1), and register a webhook endpoint. Endpoints
// have no /v1 route yet, so that one goes through the webhooks module's public API, as its tests do.

export interface BenchTenant {
  readonly tenantId: string;
  readonly domain: string;
  readonly streamId: string;
  /** POST /v1/streams/{id}/items of the stream. */
  readonly itemsUrl: string;
  readonly ingestKey: string;
  readonly endpointId: string;
  /** The endpoint's whsec_ signing secret, shown once at registration. */
  readonly secret: string;
  /** Deletes the webhook endpoint (the tenant stays: there is no tenant deletion). */
  close(): Promise<void>;
}

async function post(url: string, body: unknown, key?: string): Promise<Record<string, unknown>> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${new URL(url).pathname}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const field = (obj: unknown, ...path: string[]): string => {
  let v: unknown = obj;
  for (const p of path) v = (v as Record<string, unknown> | undefined)?.[p];
  if (typeof v !== "string") throw new Error(`the answer has no string at ${path.join(".")}`);
  return v;
};

export async function setUpTenant(httpUrl: string, webhookUrl: string): Promise<BenchTenant> {
  const slug = `bench${Date.now().toString(36)}`;
  const signup = await post(`${httpUrl}/v1/signup`, {
    name: `Bench ${slug}`,
    contactEmail: `admin@${slug}.example`,
    slug,
  });
  const admin = field(signup, "apiKey", "key");
  const streamId = "urn:dev:bench:meter-1_power";
  await post(`${httpUrl}/v1/streams`, { id: streamId, units: ["W"] }, admin);
  const ingest = await post(
    `${httpUrl}/v1/keys`,
    { name: "bench meter", scope: "ingest", stream: streamId },
    admin,
  );
  const tenantId = field(signup, "tenant", "tenantId");
  const endpoint = await createEndpoint(tenantId, {
    url: webhookUrl,
    streams: [streamId],
    description: "bench receiver",
  });
  if (!endpoint.ok) throw new Error(`webhook endpoint refused: ${endpoint.error.detail}`);
  return {
    tenantId,
    domain: field(signup, "tenant", "domain"),
    streamId,
    itemsUrl: `${httpUrl}/v1/streams/${encodeURIComponent(streamId)}/items`,
    ingestKey: field(ingest, "key"),
    endpointId: endpoint.value.id,
    secret: endpoint.value.secret,
    close: async () => {
      await deleteEndpoint(tenantId, endpoint.value.id);
    },
  };
}
