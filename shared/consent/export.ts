// Portability (GDPR Art. 20): a data subject's data as a sequence of JSON records, produced page by page
// so that the HTTP door can stream it (application/x-ndjson) without holding it in memory. Exactly the
// subject's data: the items of the streams whose dataSubject is the subject, as resolved SenML JSON; the
// consent records about them with their receipts; their audit chain with its signed checkpoints.
// The first record says how many of each are to come (progress), the last what was written.
import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { countItems, itemPages } from "../pubsub/item-pages";
import { parsePackElement } from "../senml";
import { queryAll } from "../storage/query";
import { parseStored } from "../xmpp/stored-xml";
import type { AuditEntry, Checkpoint } from "./chain";
import { auditHeadKey, auditPk, chainOf } from "./layout";
import { consentsOfSubject } from "./store";
import { streamsOfSubject } from "./subject-streams";

export const EXPORT_FORMAT = "relais-subject-export/1";

export type ExportLine = { readonly type: string } & Record<string, unknown>;

export interface ExportCounts {
  streams: number;
  items: number;
  consents: number;
  receipts: number;
  auditEntries: number;
  checkpoints: number;
}

/** The export's records, in order: "export" (totals to come), then stream, item..., consent..., audit..., "end". */
export async function* subjectExport(
  tenant: { tenantId: string; domain: string },
  subject: string,
  now: Date = new Date(),
): AsyncGenerator<ExportLine> {
  const streams = await streamsOfSubject(tenant.domain, subject);
  const consents = await consentsOfSubject(tenant.tenantId, subject);
  const chain = chainOf(tenant.tenantId, subject);
  const head = await documents().send(
    new GetCommand({ TableName: tableName("Consents"), Key: auditHeadKey(chain), ConsistentRead: true }),
  );
  const itemTotals = await Promise.all(streams.map((s) => countItems(s.service, s.node)));
  yield {
    type: "export",
    format: EXPORT_FORMAT,
    subject,
    controller: tenant.domain,
    generatedAt: now.toISOString(),
    // Items are counted from the index before they are read: one past its retention meanwhile is left
    // out, so the "end" record's count is the one to trust.
    total: {
      streams: streams.length,
      items: itemTotals.reduce((a, b) => a + b, 0),
      consents: consents.length,
      // Entries appended while the export runs (a delivery) come too: the "end" record counts them.
      auditEntries: Number(head.Item?.seq ?? 0),
    },
  };
  const counts: ExportCounts = {
    streams: 0,
    items: 0,
    consents: 0,
    receipts: 0,
    auditEntries: 0,
    checkpoints: 0,
  };
  for (const s of streams) {
    counts.streams++;
    yield {
      type: "stream",
      service: s.service,
      node: s.node,
      title: s.config.title,
      description: s.config.description,
      retentionSeconds: s.config.itemExpire,
      createdAt: new Date(s.createdAt).toISOString(),
    };
    for await (const page of itemPages(s.service, s.node)) {
      for (const item of page) {
        const parsed = parsePackElement(parseStored(item.payload), { now: item.publishedAt / 1000 });
        counts.items++;
        yield {
          type: "item",
          stream: `${s.service}/${s.node}`,
          itemId: item.itemId,
          publishedAt: new Date(item.publishedAt).toISOString(),
          // RFC 8428 section 4.6 resolved records: each stands alone, in SenML JSON.
          senml: parsed.ok ? parsed.records.map((r) => ({ ...r })) : [],
        };
      }
    }
  }
  for (const c of consents) {
    counts.consents++;
    counts.receipts += c.receipts.length;
    yield { type: "consent", record: c.record, receipts: c.receipts };
  }
  for await (const item of auditItems(chain, "SEQ#")) {
    counts.auditEntries++;
    yield { type: "audit", entry: JSON.parse(String(item.entry)) as AuditEntry };
  }
  // The kept checkpoints, then the head's: enough to check the chain was not cut short.
  for await (const item of auditItems(chain, "CP#")) {
    counts.checkpoints++;
    yield { type: "checkpoint", checkpoint: JSON.parse(String(item.checkpoint)) as Checkpoint };
  }
  if (typeof head.Item?.checkpoint === "string") {
    counts.checkpoints++;
    yield { type: "checkpoint", checkpoint: JSON.parse(head.Item.checkpoint) as Checkpoint };
  }
  yield { type: "end", counts };
}

/** The chain's items of one kind (sk prefix), in sequence order, a page at a time. */
function auditItems(chain: string, prefix: string): AsyncGenerator<Record<string, unknown>> {
  return queryAll({
    TableName: tableName("Consents"),
    KeyConditionExpression: "pk = :pk AND begins_with(sk, :prefix)",
    ExpressionAttributeValues: { ":pk": auditPk(chain), ":prefix": prefix },
    ConsistentRead: true,
    Limit: 200,
  });
}
