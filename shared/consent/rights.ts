// A data subject's rectification and erasure requests (GDPR Art. 16 and 17): recorded in the Consents
// table, logged on the subject's audit chain, and carried out. Erasure is done at once (the subject's
// streams lose their items, every active consent is withdrawn with a signed receipt); rectification
// needs a person to decide what is wrong, so it waits for the tenant's admin, who marks it done.
//   pk                  sk                 gsi1pk                          gsi1sk
//   RIGHTS#<tenant>     REQ#<requestId>    RIGHTS#<tenant>#<subject>       <requestId>
// Request ids start with the time in ms, so both listings come in the order requests were made.
import { randomBytes } from "node:crypto";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { deleteAllItems } from "../pubsub/item-pages";
import { applyToSubscriptions } from "../xmpp/features/pubsub-consent";
import { appendAudit } from "./audit";
import type { Json } from "./chain";
import { chainOf } from "./layout";
import type { SignedReceipt } from "./receipt";
import { ConsentRuleError } from "./record";
import { changeConsent, consentsOfSubject } from "./store";
import { streamsOfSubject } from "./subject-streams";

export const RIGHTS_KINDS = ["rectification", "erasure"] as const;
export type RightsKind = (typeof RIGHTS_KINDS)[number];

export interface RightsRequest {
  readonly requestId: string;
  readonly tenantId: string;
  readonly subject: string;
  readonly kind: RightsKind;
  readonly details: string;
  readonly state: "open" | "done";
  /** ISO 8601. */
  readonly requestedAt: string;
  readonly doneAt?: string;
  /** "system" for an erasure carried out at once, else "tenant-admin:<key id>". */
  readonly doneBy?: string;
  /** What was done: for an erasure, counts of what it reached. */
  readonly outcome?: { readonly [key: string]: Json };
}

const table = () => tableName("Consents");
const pk = (tenantId: string) => `RIGHTS#${tenantId}`;
const sk = (requestId: string) => `REQ#${requestId}`;
const subjectPk = (tenantId: string, subject: string) => `RIGHTS#${tenantId}#${subject}`;

const newRequestId = (now: Date) =>
  `${String(now.getTime()).padStart(14, "0")}-${randomBytes(6).toString("hex")}`;

function toRequest(item: Record<string, unknown>): RightsRequest {
  return JSON.parse(String(item.request)) as RightsRequest;
}

async function save(r: RightsRequest, expectedState?: RightsRequest["state"]): Promise<void> {
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: {
        pk: pk(r.tenantId),
        sk: sk(r.requestId),
        gsi1pk: subjectPk(r.tenantId, r.subject),
        gsi1sk: r.requestId,
        kind: "rights-request",
        state: r.state,
        request: JSON.stringify(r),
      },
      ...(expectedState
        ? {
            ConditionExpression: "#s = :s",
            ExpressionAttributeNames: { "#s": "state" },
            ExpressionAttributeValues: { ":s": expectedState },
          }
        : { ConditionExpression: "attribute_not_exists(pk)" }),
    }),
  );
}

const auditData = (r: RightsRequest): Json => ({
  requestId: r.requestId,
  kind: r.kind,
  state: r.state,
  ...(r.doneBy ? { by: r.doneBy } : {}),
  ...(r.outcome ? { outcome: r.outcome } : {}),
});

/** Records a request and logs it on the subject's chain; an erasure is then carried out (see erase). */
export async function fileRequest(
  tenant: { tenantId: string; domain: string },
  subject: string,
  kind: RightsKind,
  details: string,
): Promise<RightsRequest> {
  const now = new Date();
  const request: RightsRequest = {
    requestId: newRequestId(now),
    tenantId: tenant.tenantId,
    subject,
    kind,
    details,
    state: "open",
    requestedAt: now.toISOString(),
  };
  await save(request);
  await appendAudit(tenant.tenantId, chainOf(tenant.tenantId, subject), `rights.${kind}.requested`, {
    ...(auditData(request) as Record<string, Json>),
  });
  if (kind !== "erasure") return request;
  const outcome = await erase(tenant, subject, request.requestId);
  return complete(request, "system", outcome);
}

/**
 * Erases the subject's data held in the hub's streams and stops every flow of it: the items of every
 * stream whose dataSubject is the subject are deleted, and every consent still requested or granted is
 * withdrawn (receipts signed). Safe to run again: a second run finds nothing left to delete or withdraw.
 */
export async function erase(
  tenant: { tenantId: string; domain: string },
  subject: string,
  requestId: string,
): Promise<{ streams: Json[]; itemsDeleted: number; consentsWithdrawn: Json[] }> {
  const withdrawn: { consentId: string; receipt?: SignedReceipt }[] = [];
  // Consents first: a delivery still queued for an item not yet deleted finds no grant.
  for (const { record } of await consentsOfSubject(tenant.tenantId, subject)) {
    if (record.state !== "requested" && record.state !== "granted") continue;
    try {
      const out = await changeConsent(
        record.consentId,
        "withdrawn",
        { by: subject, via: "http", note: `erasure request ${requestId}` },
        tenant.domain,
      );
      await applyToSubscriptions(out.record);
      withdrawn.push({ consentId: record.consentId, ...(out.receipt ? { receipt: out.receipt } : {}) });
    } catch (err) {
      // Expired between the read and the change: nothing flows under it any more either.
      if (!(err instanceof ConsentRuleError)) throw err;
    }
  }
  const streams: Json[] = [];
  let itemsDeleted = 0;
  for (const node of await streamsOfSubject(tenant.domain, subject)) {
    const n = await deleteAllItems(node.service, node.node);
    itemsDeleted += n;
    streams.push({ service: node.service, node: node.node, itemsDeleted: n });
  }
  return { streams, itemsDeleted, consentsWithdrawn: withdrawn.map((w) => w.consentId) };
}

async function complete(
  request: RightsRequest,
  by: string,
  outcome: RightsRequest["outcome"],
): Promise<RightsRequest> {
  const done: RightsRequest = {
    ...request,
    state: "done",
    doneAt: new Date().toISOString(),
    doneBy: by,
    ...(outcome ? { outcome } : {}),
  };
  await save(done, "open");
  await appendAudit(
    request.tenantId,
    chainOf(request.tenantId, request.subject),
    `rights.${request.kind}.done`,
    auditData(done),
  );
  return done;
}

export async function getRequest(tenantId: string, requestId: string): Promise<RightsRequest | undefined> {
  const out = await documents().send(
    new GetCommand({
      TableName: table(),
      Key: { pk: pk(tenantId), sk: sk(requestId) },
      ConsistentRead: true,
    }),
  );
  return out.Item ? toRequest(out.Item) : undefined;
}

/**
 * The tenant admin marks a request done: a rectification once the data was corrected; an erasure left
 * open by a failure half-way is carried out again first (erase is safe to repeat).
 */
export async function markDone(
  tenant: { tenantId: string; domain: string },
  requestId: string,
  by: string,
  note?: string,
): Promise<RightsRequest | "not-found" | "already-done"> {
  const request = await getRequest(tenant.tenantId, requestId);
  if (!request) return "not-found";
  if (request.state === "done") return "already-done";
  const erased = request.kind === "erasure" ? await erase(tenant, request.subject, requestId) : undefined;
  const outcome = { ...(erased ?? {}), ...(note ? { note } : {}) };
  try {
    return await complete(request, by, Object.keys(outcome).length > 0 ? outcome : undefined);
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return "already-done";
    throw err;
  }
}

/** The tenant's requests, oldest first; only open ones when `open`. */
export async function requestsOfTenant(tenantId: string, open = false): Promise<RightsRequest[]> {
  return queryRequests({
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :req)",
    ExpressionAttributeValues: {
      ":pk": pk(tenantId),
      ":req": "REQ#",
      ...(open ? { ":open": "open" } : {}),
    },
    ...(open ? { FilterExpression: "#s = :open", ExpressionAttributeNames: { "#s": "state" } } : {}),
  });
}

/** A subject's own requests, oldest first. */
export async function requestsOfSubject(tenantId: string, subject: string): Promise<RightsRequest[]> {
  return queryRequests({
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": subjectPk(tenantId, subject) },
  });
}

async function queryRequests(
  input: Omit<ConstructorParameters<typeof QueryCommand>[0], "TableName">,
): Promise<RightsRequest[]> {
  const out: RightsRequest[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents().send(
      new QueryCommand({ ...input, TableName: table(), ExclusiveStartKey: start }),
    );
    for (const item of page.Items ?? []) out.push(toRequest(item));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}
