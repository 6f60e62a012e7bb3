import { randomUUID } from "node:crypto";
import { GetCommand, PutCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { batchDelete, batchGet } from "../storage/batch";
import { queryAll } from "../storage/query";
import { appendAudit } from "./audit";
import type { Json } from "./chain";
import { decide, type Verdict } from "./enforce";
import { tenantKey } from "./keys";
import { chainOf, consentKey, grantKey, recipientPointerKey, subjectIndexPk } from "./layout";
import { makeReceipt, type SignedReceipt, signReceipt } from "./receipt";
import {
  type ConsentRecord,
  type ConsentRequest,
  type HistoryEntry,
  recipientKey,
  recipientKeysOfJid,
  requestConsent,
  stateAt,
  transition,
} from "./record";
import type { ConsentState } from "./vocabulary";

// Consent records in DynamoDB, and the grants derived from them: one item per (stream, recipient) that
// a delivery reads (with its other keys, in one BatchGetItem) to decide at delivery time. Every change
// is appended to the subject's audit chain; a grant, refusal or withdrawal gives a signed receipt.

const table = () => tableName("Consents");

/** What a delivery needs to know of a consent: kept on the grant item, so no record read is needed. */
export interface Grant {
  readonly consentId: string;
  readonly subject: string;
  /** ISO 8601. */
  readonly validUntil: string;
  /** Only these resolved SenML names; undefined: all. */
  readonly names?: readonly string[];
}

export interface StoredConsent {
  readonly record: ConsentRecord;
  readonly receipts: readonly SignedReceipt[];
}

export class ConsentNotFound extends Error {}

function toStored(item: Record<string, unknown>): StoredConsent {
  return {
    record: JSON.parse(String(item.record)) as ConsentRecord,
    receipts: item.receipts ? (JSON.parse(String(item.receipts)) as SignedReceipt[]) : [],
  };
}

export async function getConsent(consentId: string): Promise<StoredConsent | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: consentKey(consentId), ConsistentRead: true }),
  );
  return out.Item ? toStored(out.Item) : undefined;
}

/** A new consent in state "requested", logged on the subject's audit chain. */
export async function createConsent(
  tenantId: string,
  request: ConsentRequest,
  by: string,
  via: HistoryEntry["via"],
): Promise<ConsentRecord> {
  const now = new Date();
  const record = requestConsent(randomUUID(), tenantId, request, by, via, now);
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...consentKey(record.consentId),
        gsi1pk: subjectIndexPk(tenantId, record.subject),
        gsi1sk: `${now.toISOString()}#${record.consentId}`,
        kind: "consent",
        tenantId,
        record: JSON.stringify(record),
        version: 1,
      },
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
  // Who a consent names as recipient, findable when that recipient (an account) is deleted.
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: recipientPointerKey(tenantId, recipientKey(record.recipient), record.consentId),
    }),
  );
  await appendAudit(tenantId, chainOf(tenantId, record.subject), "consent.requested", auditView(record));
  return record;
}

/**
 * Changes a consent's state (grant, refuse, withdraw, expire) and its grants with it, in one
 * transaction conditioned on the version read; logs it, and signs a receipt for the subject.
 */
export async function changeConsent(
  consentId: string,
  to: ConsentState,
  change: { by: string; via: HistoryEntry["via"]; note?: string; validDays?: number },
  controllerDomain: string,
): Promise<{ record: ConsentRecord; receipt?: SignedReceipt }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const out = await documents().send(
      new GetCommand({ TableName: table(), Key: consentKey(consentId), ConsistentRead: true }),
    );
    if (!out.Item) throw new ConsentNotFound(`no consent ${consentId}`);
    const version = Number(out.Item.version ?? 1);
    const { record: before, receipts } = toStored(out.Item);
    const now = new Date();
    const after = transition(before, to, { ...change, at: now });
    const grants = before.scope.streams.map((s) =>
      grantKey(s.service, s.node, recipientKey(before.recipient)),
    );
    const grantWrites =
      to === "granted"
        ? grants.map((Key) => ({
            Put: {
              TableName: table(),
              Item: {
                ...Key,
                consentId,
                subject: after.subject,
                validUntil: after.validUntil,
                ...(after.scope.names ? { names: after.scope.names } : {}),
                // Gone by itself once the consent has expired (deliveries check validUntil anyway).
                expiresAt: Math.floor(Date.parse(after.validUntil ?? now.toISOString()) / 1000) + 86_400,
              },
            },
          }))
        : grants.map((Key) => ({
            Delete: {
              TableName: table(),
              Key,
              // Only this consent's grant: a newer consent of the same recipient keeps its own.
              ConditionExpression: "attribute_not_exists(pk) OR consentId = :id",
              ExpressionAttributeValues: { ":id": consentId },
            },
          }));
    try {
      await documents().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table(),
                Item: { ...out.Item, record: JSON.stringify(after), version: version + 1 },
                ConditionExpression: "version = :v",
                ExpressionAttributeValues: { ":v": version },
              },
            },
            ...grantWrites,
          ],
        }),
      );
    } catch (err) {
      if ((err as Error).name === "TransactionCanceledException") continue;
      throw err;
    }
    const key = tenantKey(after.tenantId);
    const entry = await appendAudit(
      after.tenantId,
      chainOf(after.tenantId, after.subject),
      `consent.${to}`,
      auditView(after),
      key,
    );
    if (to !== "granted" && to !== "withdrawn" && to !== "refused") return { record: after };
    const receipt = signReceipt(
      makeReceipt(
        after,
        to,
        controllerDomain,
        { chain: entry.chain, seq: entry.seq, hash: entry.hash },
        now,
        randomUUID(),
      ),
      key,
    );
    await documents().send(
      new PutCommand({
        TableName: table(),
        Item: {
          ...out.Item,
          record: JSON.stringify(after),
          version: version + 1,
          receipts: JSON.stringify([...receipts, receipt]),
        },
        ConditionExpression: "version = :v",
        ExpressionAttributeValues: { ":v": version + 1 },
      }),
    );
    return { record: after, receipt };
  }
  throw new Error(`consent ${consentId}: changed by someone else meanwhile, five times in a row`);
}

/** Every consent of a subject, newest first, with the state it has now (expiry included). */
export async function consentsOfSubject(tenantId: string, subject: string): Promise<StoredConsent[]> {
  const out: StoredConsent[] = [];
  const now = new Date();
  for await (const item of queryAll({
    TableName: table(),
    IndexName: "gsi1",
    KeyConditionExpression: "gsi1pk = :pk",
    ExpressionAttributeValues: { ":pk": subjectIndexPk(tenantId, subject) },
    ScanIndexForward: false,
  })) {
    const stored = toStored(item);
    out.push({ ...stored, record: { ...stored.record, state: stateAt(stored.record, now) } });
  }
  return out;
}

/** The keys a delivery reads to find the grants of `recipients` on a stream (see grantsFrom). */
export const grantKeys = (service: string, node: string, recipients: readonly string[]) =>
  recipients.map((r) => grantKey(service, node, r));

/** Grants found by a batch read, by recipient key ("jid:a@b", "domain:b"). */
export function grantsFrom(items: readonly Record<string, unknown>[]): Map<string, Grant> {
  const out = new Map<string, Grant>();
  for (const i of items) {
    if (typeof i.consentId !== "string") continue;
    out.set(String(i.sk).slice("RCPT#".length), {
      consentId: i.consentId,
      subject: String(i.subject),
      validUntil: String(i.validUntil),
      ...(Array.isArray(i.names) ? { names: i.names.map(String) } : {}),
    });
  }
  return out;
}

/**
 * Whether `recipient` (a bare JID, or another recipient by its key: "webhook:<id>", "application:<id>")
 * may receive data of a stream about `subject` now: one grant read, none for data that is not
 * personal or for the subject's own. A delivery of many recipients reads grants in its own batch.
 */
export async function consentVerdict(
  service: string,
  node: string,
  subject: string | undefined,
  recipient: string | { readonly key: string },
): Promise<Verdict> {
  if (subject === undefined || recipient === subject) return { allowed: true };
  const keys = typeof recipient === "string" ? recipientKeysOfJid(recipient) : [recipient.key];
  return decide(recipient, subject, await grantsOn(service, node, keys), new Date());
}

/** The grants of `recipients` on one stream, read in one round (for callers without other keys to read). */
export async function grantsOn(
  service: string,
  node: string,
  recipients: readonly string[],
): Promise<Map<string, Grant>> {
  const found = await batchGet([{ table: table(), keys: grantKeys(service, node, recipients) }]);
  return grantsFrom(found.get(table()) ?? []);
}

function auditView(r: ConsentRecord): Json {
  return {
    consentId: r.consentId,
    state: r.state,
    subject: r.subject,
    recipient: recipientKey(r.recipient),
    streams: r.scope.streams.map((s) => `${s.service}/${s.node}`),
    names: r.scope.names ? [...r.scope.names] : null,
    purposes: r.purposes.map((p) => p.code),
    legalBasis: r.legalBasis,
    validUntil: r.validUntil ?? null,
    by: r.history.at(-1)?.by ?? null,
  };
}

/** The ids of the consents naming `recipient` ("jid:a@b", "webhook:<id>"...) in a tenant. */
export async function consentIdsOfRecipient(tenantId: string, recipient: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const item of queryAll({
    TableName: table(),
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": recipientPointerKey(tenantId, recipient, "").pk },
  })) {
    ids.push(String(item.sk));
  }
  return ids;
}

/** Deletes every grant of a stream (the stream is gone; the records stay, as history and proof). */
export async function dropGrantsOfStream(service: string, node: string): Promise<number> {
  const keys: Record<string, unknown>[] = [];
  for await (const item of queryAll({
    TableName: table(),
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": grantKey(service, node, "").pk },
    ProjectionExpression: "pk, sk",
  })) {
    keys.push({ pk: item.pk, sk: item.sk });
  }
  await batchDelete(table(), keys);
  return keys.length;
}
