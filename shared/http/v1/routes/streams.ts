// Streams: the tenant's XEP-0060 nodes on pubsub.<its domain>, the same nodes XMPP clients see (one
// store, two doors). Declare, configure, list, get, delete; ingest SenML (JSON or XML) through the same
// publish path as XMPP; read the latest items or a time range.
import { createRoute, z } from "@hono/zod-openapi";
import { type Element, xml } from "@xmpp/xml";
import type { Context } from "hono";
import { eraseStream } from "../../../consent/erase";
import { consentVerdict } from "../../../consent/store";
import { getAccount } from "../../../directory/accounts";
import { pubsubServiceOf } from "../../../directory/domains";
import {
  ACCESS_MODELS,
  applyConfigForm,
  baseNameOf,
  DEFAULT_CONFIG,
  DEFAULT_LIMITS,
  FIELD_BASE_NAME,
  FIELD_DATA_SUBJECT,
  FIELD_UNITS,
  type NodeConfig,
  NS_NODE_CONFIG,
} from "../../../pubsub/config";
import { isFailure } from "../../../pubsub/errors";
import { publishPack } from "../../../pubsub/publish";
import { nodeIdProblem } from "../../../pubsub/rules";
import * as store from "../../../pubsub/store";
import { NS_SENML, parsePack, parsePackElement, type RawRecord, type SenmlError } from "../../../senml";
import { releaseCount } from "../../../tenants/tenants";
import { uncountIngest } from "../../../tenants/usage";
import { NS_DATA_FORMS } from "../../../xmpp/namespaces";
import { parseStored } from "../../../xmpp/stored-xml";
import { claimKey, completeKey, idempotentItemId, releaseKey, requestHash } from "../../idempotency";
import { type FieldError, ProblemError } from "../../problem";
import { type ApiEnv, auth, bearerSecurity, requireScope } from "../auth";
import { countIngestOrRefuse, takeOrRefuse } from "../limits";
import { newRouter } from "../router";
import { AUTH_PROBLEMS, jsonBody, jsonContent, problems } from "../schemas";

const ConfigFields = {
  title: z.string().max(256).optional(),
  description: z.string().max(2048).optional(),
  accessModel: z.enum(ACCESS_MODELS).optional().openapi({ description: "Who may subscribe over XMPP" }),
  maxItems: z.number().int().min(1).max(DEFAULT_LIMITS.maxItems).optional(),
  itemExpire: z
    .number()
    .int()
    .min(0)
    .max(DEFAULT_LIMITS.maxItemExpire)
    .optional()
    .openapi({ description: "Seconds an item is kept (retention); 0: no time limit" }),
  senmlBaseName: z
    .string()
    .max(1000)
    .optional()
    .openapi({ description: "Records' names must start with it" }),
  units: z.array(z.string()).max(100).optional().openapi({ description: "SenML units allowed; empty: any" }),
  publishers: z
    .array(
      z
        .string()
        .toLowerCase()
        .regex(/^[a-z0-9][a-z0-9._-]{0,63}@[a-z0-9.-]+$/, "a bare JID, name@domain"),
    )
    .max(100)
    .optional()
    .openapi({
      description: "Accounts of the tenant that may publish over XMPP (XEP-0060 publisher affiliation)",
    }),
  dataSubject: z
    .string()
    .toLowerCase()
    .regex(/^[a-z0-9][a-z0-9._-]{0,63}@[a-z0-9.-]+$/, "a bare JID, name@domain")
    .nullable()
    .optional()
    .openapi({
      description:
        "The account of the tenant whose personal data the stream carries: deliveries to anyone else then need that person's consent. null: not personal data",
    }),
};

const StreamSchema = z
  .object({
    id: z.string().openapi({ example: "urn:dev:prm:30001610071843_consumption/power/active/raw" }),
    title: z.string(),
    description: z.string(),
    accessModel: z.enum(ACCESS_MODELS),
    maxItems: z.number().int(),
    itemExpire: z.number().int(),
    senmlBaseName: z.string(),
    units: z.array(z.string()),
    createdAt: z.string(),
    xmpp: z.object({ service: z.string(), node: z.string() }),
    publishers: z.array(z.string()).optional().openapi({ description: "Given when one stream is asked for" }),
    dataSubject: z.string().optional().openapi({ description: "Whose personal data it is, if anyone's" }),
  })
  .openapi("Stream");

const ItemSchema = z
  .object({
    id: z.string(),
    publishedAt: z.string(),
    records: z
      .array(z.record(z.string(), z.unknown()))
      .openapi({ description: "Resolved SenML records (RFC 8428 4.6)" }),
  })
  .openapi("Item");

const StreamParams = z.object({
  id: z
    .string()
    .min(1)
    .max(1023)
    .openapi({
      description: "The stream (node) id, URL-encoded: '/' as %2F",
      param: { name: "id", in: "path" },
    }),
});

type StreamView = z.infer<typeof StreamSchema>;

function view(n: store.NodeRecord): StreamView {
  return {
    id: n.node,
    title: n.config.title,
    description: n.config.description,
    accessModel: n.config.accessModel,
    maxItems: n.config.maxItems,
    itemExpire: n.config.itemExpire,
    senmlBaseName: baseNameOf(n.node, n.config),
    units: [...n.config.units],
    createdAt: new Date(n.createdAt).toISOString(),
    xmpp: { service: n.service, node: n.node },
    ...(n.config.dataSubject ? { dataSubject: n.config.dataSubject } : {}),
  };
}

// JSON fields and the XEP-0060 form fields they set: the configuration is checked by the same code as an
// XMPP configure form, so both doors accept exactly the same settings.
const FORM_FIELDS: Record<string, string> = {
  title: "pubsub#title",
  description: "pubsub#description",
  accessModel: "pubsub#access_model",
  maxItems: "pubsub#max_items",
  itemExpire: "pubsub#item_expire",
  senmlBaseName: FIELD_BASE_NAME,
  units: FIELD_UNITS,
  dataSubject: FIELD_DATA_SUBJECT,
};

function applyJsonConfig(node: string, current: NodeConfig, body: Record<string, unknown>): NodeConfig {
  const fields: Element[] = [
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS_NODE_CONFIG)),
  ];
  for (const [key, formVar] of Object.entries(FORM_FIELDS)) {
    const v = body[key] === null ? "" : body[key];
    if (v === undefined) continue;
    const values = Array.isArray(v) ? v.map(String) : [String(v)];
    fields.push(xml("field", { var: formVar }, ...values.map((value) => xml("value", {}, value))));
  }
  const out = applyConfigForm(node, xml("x", { xmlns: NS_DATA_FORMS, type: "submit" }, ...fields), current);
  if (!isFailure(out)) return out;
  const key = Object.entries(FORM_FIELDS).find(([, v]) => out.text?.startsWith(`${v}:`))?.[0];
  const reason = key
    ? (out.text ?? "").slice((FORM_FIELDS[key] as string).length + 1).trim()
    : (out.text ?? "");
  throw new ProblemError("validation", `the stream configuration is not acceptable: ${reason}`, [
    { field: key ?? "(body)", reason, in: "body" },
  ]);
}

const serviceOf = (c: Context<ApiEnv>) => pubsubServiceOf(auth(c).tenant.domain);

/** The stream with its XMPP publishers: one more read, so only for single streams. */
async function fullView(n: store.NodeRecord): Promise<StreamView> {
  const affiliations = await store.listAffiliations(n.service, n.node);
  const publishers = [...affiliations]
    .filter(([, a]) => a === "publisher")
    .map(([jid]) => jid)
    .sort();
  return { ...view(n), publishers };
}

/** Publishers must be accounts of the tenant's own domains: checked before anything is written. */
function checkPublishers(c: Context<ApiEnv>, publishers: readonly string[] | undefined): void {
  if (!publishers) return;
  const { tenant } = auth(c);
  const ownDomains = [
    tenant.domain,
    ...(tenant.customDomain?.status === "verified" ? [tenant.customDomain.domain] : []),
  ];
  const foreign = publishers.findIndex((j) => !ownDomains.includes(j.slice(j.indexOf("@") + 1)));
  if (foreign >= 0) {
    throw new ProblemError("validation", "publishers are accounts of the tenant's own domains", [
      { field: `publishers.${foreign}`, reason: `not on ${ownDomains.join(" or ")}`, in: "body" },
    ]);
  }
}

/** The data subject must be an account of the tenant: its consent is asked at its own door (/v1/me). */
async function checkDataSubject(c: Context<ApiEnv>, subject: string | null | undefined): Promise<void> {
  if (!subject) return;
  const account = await getAccount(subject);
  if (!account || account.tenantId !== auth(c).tenant.tenantId) {
    throw new ProblemError("validation", "the data subject is an account of the tenant", [
      { field: "dataSubject", reason: `${subject} is not an account of this tenant`, in: "body" },
    ]);
  }
}

/** Makes exactly `publishers` the node's publishers (owners stay owners). */
async function setPublishers(n: store.NodeRecord, publishers: readonly string[]): Promise<void> {
  const before = await store.listAffiliations(n.service, n.node);
  const after = new Map([...before].filter(([, a]) => a !== "publisher"));
  for (const jid of publishers) if (after.get(jid) !== "owner") after.set(jid, "publisher");
  await store.replaceAffiliations(n.service, n.node, before, after);
}

async function nodeOf(c: Context<ApiEnv>, id: string): Promise<store.NodeRecord> {
  const node = await store.getNode(serviceOf(c), id);
  // The service is the caller's own: another tenant's stream of the same id is not even looked at.
  if (!node)
    throw new ProblemError("not-found", `no stream ${id} in this tenant`, [
      { field: "id", reason: "no such stream", in: "path" },
    ]);
  return node;
}

const declare = createRoute({
  method: "post",
  path: "/",
  tags: ["Streams"],
  summary: "Declare a stream",
  description:
    "Creates the PubSub node <id> on the tenant's service pubsub.<domain>; XMPP clients see the same node.",
  security: bearerSecurity,
  middleware: [requireScope("admin")] as const,
  request: {
    body: jsonBody(
      z.object({
        id: z
          .string()
          .min(1)
          .max(1023)
          .openapi({ description: "The node id, e.g. a Quoalise data identifier" }),
        ...ConfigFields,
      }),
    ),
  },
  responses: { 201: jsonContent(StreamSchema, "The stream"), ...problems(...AUTH_PROBLEMS, 409) },
});

const list = createRoute({
  method: "get",
  path: "/",
  tags: ["Streams"],
  summary: "List the tenant's streams",
  security: bearerSecurity,
  middleware: [requireScope("admin", "read")] as const,
  responses: {
    200: jsonContent(z.object({ streams: z.array(StreamSchema) }), "The streams"),
    ...problems(...AUTH_PROBLEMS),
  },
});

const get = createRoute({
  method: "get",
  path: "/{id}",
  tags: ["Streams"],
  summary: "One stream",
  security: bearerSecurity,
  middleware: [requireScope("admin", "read")] as const,
  request: { params: StreamParams },
  responses: { 200: jsonContent(StreamSchema, "The stream"), ...problems(...AUTH_PROBLEMS) },
});

const configure = createRoute({
  method: "patch",
  path: "/{id}",
  tags: ["Streams"],
  summary: "Configure a stream",
  description: "Fields left out keep their values.",
  security: bearerSecurity,
  middleware: [requireScope("admin")] as const,
  request: { params: StreamParams, body: jsonBody(z.object(ConfigFields).strict()) },
  responses: { 200: jsonContent(StreamSchema, "The stream"), ...problems(...AUTH_PROBLEMS) },
});

const remove = createRoute({
  method: "delete",
  path: "/{id}",
  tags: ["Streams"],
  summary: "Delete a stream and its items",
  security: bearerSecurity,
  middleware: [requireScope("admin")] as const,
  request: { params: StreamParams },
  responses: { 204: { description: "Deleted" }, ...problems(...AUTH_PROBLEMS) },
});

const SENML_JSON = "application/senml+json";
const SENML_XML = "application/senml+xml";
const SENML_CBOR = "application/senml+cbor";
const PackSchema = z.array(z.record(z.string(), z.unknown())).openapi("SenmlPack", {
  description: "RFC 8428 SenML pack",
  example: [{ bn: "urn:dev:prm:30001610071843_consumption/power/active/raw", bt: 1.7e9, bu: "W", v: 1200 }],
});

const ingest = createRoute({
  method: "post",
  path: "/{id}/items",
  tags: ["Streams"],
  summary: "Publish a SenML pack",
  description:
    "Validated, stored and fanned out exactly as an XMPP publish. JSON (application/senml+json or application/json), XML (application/senml+xml) or CBOR (application/senml+cbor). With an Idempotency-Key header, a retried request publishes once and gets the same answer (keys kept 24 hours). Needs an admin key, or an ingest key of this stream.",
  security: bearerSecurity,
  request: {
    params: StreamParams,
    headers: z.object({
      "idempotency-key": z
        .string()
        .min(1)
        .max(255)
        .optional()
        .openapi({ description: "Makes a retried POST publish once" }),
    }),
    // Not `required`: the handler reads the body itself, so that XML and SenML errors get their own answers.
    body: {
      content: {
        [SENML_JSON]: { schema: PackSchema },
        "application/json": { schema: PackSchema },
        [SENML_XML]: {
          schema: z.string().openapi({ description: '<sensml xmlns="urn:ietf:params:xml:ns:senml">' }),
        },
        [SENML_CBOR]: {
          schema: z.string().openapi({ format: "binary", description: "RFC 8428 section 6: integer labels" }),
        },
      },
    },
  },
  responses: {
    201: jsonContent(
      z.object({ stream: z.string(), itemId: z.string(), publishedAt: z.string() }),
      "Published",
    ),
    ...problems(...AUTH_PROBLEMS, 409, 422, 429),
  },
});

const read = createRoute({
  method: "get",
  path: "/{id}/items",
  tags: ["Streams"],
  summary: "Read items",
  description:
    "The latest `limit` items, newest first; or with `from` (and `to`), the items published in that range, oldest first.",
  security: bearerSecurity,
  middleware: [requireScope("admin", "read")] as const,
  request: {
    params: StreamParams,
    query: z
      .object({
        limit: z.coerce.number().int().min(1).max(1000).default(20),
        from: z.iso.datetime({ offset: true }).optional(),
        to: z.iso.datetime({ offset: true }).optional(),
      })
      .refine((q) => q.to === undefined || q.from !== undefined, {
        message: "to needs from",
        path: ["from"],
      }),
  },
  responses: {
    200: jsonContent(z.object({ items: z.array(ItemSchema) }), "Items"),
    ...problems(...AUTH_PROBLEMS),
  },
});

/** SenML errors as field errors: "3.u", the record's index and its field. */
const senmlFieldErrors = (errors: readonly SenmlError[]): FieldError[] =>
  errors.map((e) => ({
    field: e.record < 0 ? "(pack)" : e.field === undefined ? String(e.record) : `${e.record}.${e.field}`,
    reason: e.reason,
    in: "body",
  }));

function invalidSenml(errors: readonly SenmlError[], detail: string): ProblemError {
  return new ProblemError("invalid-senml", detail, senmlFieldErrors(errors));
}

/** The body as a <sensml> element of the records as sent, or the problem with it. */
function packElement(contentType: string, body: Uint8Array): Element {
  const type = contentType.split(";")[0]?.trim().toLowerCase() ?? "";
  const format =
    type === SENML_XML
      ? "xml"
      : type === SENML_CBOR
        ? "cbor"
        : type === SENML_JSON || type === "application/json"
          ? "json"
          : undefined;
  if (!format) {
    throw new ProblemError(
      "unsupported-media-type",
      `send ${SENML_JSON}, application/json, ${SENML_XML} or ${SENML_CBOR}`,
      [{ field: "Content-Type", reason: type ? `${type} is not accepted` : "missing", in: "header" }],
    );
  }
  const parsed = parsePack(body, format, { now: Date.now() / 1000 });
  if (!parsed.ok) {
    const syntax = parsed.errors.find((e) => e.record < 0 && /JSON|XML|syntax|parse/i.test(e.reason));
    if (syntax && format === "json")
      throw new ProblemError("bad-json", syntax.reason, [
        { field: "(body)", reason: syntax.reason, in: "body" },
      ]);
    throw invalidSenml(parsed.errors, `the pack is refused: ${parsed.errors.length} error(s)`);
  }
  return rawToElement(parsed.pack);
}

/** Records as sent (known fields only) as a <sensml> element: what an XMPP publisher would have sent. */
function rawToElement(pack: readonly RawRecord[]): Element {
  return xml(
    "sensml",
    { xmlns: NS_SENML },
    ...pack.map((r) =>
      xml(
        "senml",
        Object.fromEntries(
          Object.entries(r)
            .filter(([, v]) => v !== undefined)
            .map(([k, v]) => [k, String(v)]),
        ),
      ),
    ),
  );
}

function itemView(i: store.StoredItem): z.infer<typeof ItemSchema> {
  const parsed = parsePackElement(parseStored(i.payload), { now: i.publishedAt / 1000 });
  return {
    id: i.itemId,
    publishedAt: new Date(i.publishedAt).toISOString(),
    records: parsed.ok ? parsed.records.map((r) => ({ ...r })) : [],
  };
}

export function streamRoutes() {
  return newRouter()
    .openapi(declare, async (c) => {
      const { tenant } = auth(c);
      const { id, publishers, ...config } = c.req.valid("json");
      const problem = nodeIdProblem(id);
      if (problem)
        throw new ProblemError("validation", problem.text, [
          { field: "id", reason: problem.text ?? "", in: "body" },
        ]);
      const applied = applyJsonConfig(id, DEFAULT_CONFIG, config);
      checkPublishers(c, publishers);
      await checkDataSubject(c, config.dataSubject);
      await takeOrRefuse(tenant, "streams");
      const rec: store.NodeRecord = {
        service: serviceOf(c),
        node: id,
        tenantId: tenant.tenantId,
        config: applied,
        createdAt: Date.now(),
      };
      // The tenant's domain JID owns nodes declared over HTTP: the tenant's admins act for it.
      if (!(await store.createNode(rec, tenant.domain))) {
        await releaseCount(tenant.tenantId, "streams");
        throw new ProblemError("conflict", `the stream ${id} exists already`, [
          { field: "id", reason: "exists", in: "body" },
        ]);
      }
      if (publishers) await setPublishers(rec, publishers);
      return c.json(await fullView(rec), 201);
    })
    .openapi(list, async (c) => c.json({ streams: (await store.listNodes(serviceOf(c))).map(view) }, 200))
    .openapi(get, async (c) => c.json(await fullView(await nodeOf(c, c.req.valid("param").id)), 200))
    .openapi(configure, async (c) => {
      const node = await nodeOf(c, c.req.valid("param").id);
      const { publishers, ...fields } = c.req.valid("json");
      const config = applyJsonConfig(node.node, node.config, fields);
      checkPublishers(c, publishers);
      await checkDataSubject(c, fields.dataSubject);
      await store.saveConfig(node.service, node.node, config);
      if (publishers) await setPublishers(node, publishers);
      return c.json(await fullView({ ...node, config }), 200);
    })
    .openapi(remove, async (c) => {
      const node = await nodeOf(c, c.req.valid("param").id);
      await store.deleteNode(node.service, node.node);
      await eraseStream(auth(c).tenant.tenantId, node.service, node.node);
      await releaseCount(auth(c).tenant.tenantId, "streams");
      return c.body(null, 204);
    })
    .openapi(ingest, async (c) => {
      const { key, tenant } = auth(c);
      const { id } = c.req.valid("param");
      if (!(key.scope === "admin" || (key.scope === "ingest" && key.stream === id))) {
        throw new ProblemError("forbidden", "publishing needs an admin key or an ingest key of this stream", [
          {
            field: "Authorization",
            reason:
              key.scope === "ingest" ? `the key ingests to ${key.stream}` : `the key's scope is ${key.scope}`,
            in: "header",
          },
        ]);
      }
      const node = await nodeOf(c, id);
      const contentType = c.req.header("content-type") ?? "";
      const body = new Uint8Array(await c.req.arrayBuffer());
      const sensml = packElement(contentType, body);
      const idemKey = c.req.header("idempotency-key");
      if (idemKey !== undefined) {
        const claim = await claimKey(tenant.tenantId, idemKey, requestHash(["POST", id, contentType, body]));
        if (claim.kind === "replay")
          return c.json(claim.body as { stream: string; itemId: string; publishedAt: string }, 201);
      }
      try {
        await countIngestOrRefuse(tenant);
        const out = await publishPack({
          node,
          sensml,
          publisher: tenant.domain,
          ...(idemKey === undefined ? {} : { itemId: idempotentItemId(tenant.tenantId, idemKey) }),
        });
        if (!out.ok) {
          await uncountIngest(tenant.tenantId);
          throw out.senmlErrors
            ? invalidSenml(out.senmlErrors, out.failure.text ?? "the pack does not fit the stream")
            : new ProblemError("invalid-senml", out.failure.text ?? out.failure.failure);
        }
        const answer = {
          stream: node.node,
          itemId: out.itemId,
          publishedAt: new Date(out.publishedAt).toISOString(),
        };
        if (idemKey !== undefined) await completeKey(tenant.tenantId, idemKey, 201, answer);
        return c.json(answer, 201);
      } catch (err) {
        if (idemKey !== undefined) await releaseKey(tenant.tenantId, idemKey);
        throw err;
      }
    })
    .openapi(read, async (c) => {
      const node = await nodeOf(c, c.req.valid("param").id);
      const q = c.req.valid("query");
      let items: store.StoredItem[];
      if (q.from === undefined) items = await store.latestItems(node.service, node.node, q.limit);
      else {
        const from = Date.parse(q.from);
        const to = q.to === undefined ? Date.now() : Date.parse(q.to);
        if (q.to !== undefined && to < from) {
          throw new ProblemError("validation", "the range ends before it starts", [
            { field: "to", reason: "must not be before from", in: "query" },
          ]);
        }
        // A range starting in the future holds nothing yet.
        items = from > to ? [] : await store.itemsBetween(node.service, node.node, from, to, q.limit);
      }
      // Personal data is read under a consent like any other flow: the API key is the recipient
      // ("application:<key id>"), and only the names its consent covers are answered.
      const subject = node.config.dataSubject;
      if (subject === undefined) return c.json({ items: items.map(itemView) }, 200);
      const me = `application:${auth(c).key.keyId}`;
      const verdict = await consentVerdict(node.service, node.node, subject, { key: me });
      if (!verdict.allowed) {
        throw new ProblemError(
          "consent-required",
          `this stream is personal data of ${subject}: reading it needs their consent for this API key (${verdict.reason})`,
          [{ field: "Authorization", reason: `no valid consent for ${me}`, in: "header" }],
        );
      }
      const names = verdict.names;
      const views = items
        .map(itemView)
        .map((v) => (names ? { ...v, records: v.records.filter((r) => names.includes(String(r.n))) } : v));
      return c.json({ items: views.filter((v) => v.records.length > 0) }, 200);
    });
}
