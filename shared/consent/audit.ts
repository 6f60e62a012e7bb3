import { GetCommand, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { queryAll } from "../storage/query";
import { type AuditEntry, type Checkpoint, type Json, nextEntry, signCheckpoint } from "./chain";
import { type SigningKey, tenantKey } from "./keys";
import { auditEntryKey, auditHeadKey, auditPk, checkpointKey } from "./layout";

// The audit log in DynamoDB. An entry is appended with one transaction: the entry, on condition that
// its sequence number is free, and the head, on condition it still names the previous entry; so two
// writers cannot fork the chain: the loser reads the new head and tries again. The head carries a
// signed checkpoint of itself, and every CHECKPOINT_EVERY entries one is kept for good, so that a cut
// tail is caught even if the head is rolled back.

export const CHECKPOINT_EVERY = 50;
const MAX_ATTEMPTS = 12;

const table = () => tableName("Consents");

export async function appendAudit(
  tenantId: string,
  chain: string,
  kind: string,
  data: Json,
  key: SigningKey = tenantKey(tenantId),
): Promise<AuditEntry> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const out = await documents().send(
      new GetCommand({ TableName: table(), Key: auditHeadKey(chain), ConsistentRead: true }),
    );
    const head = out.Item ? { seq: Number(out.Item.seq), hash: String(out.Item.hash) } : undefined;
    const now = new Date();
    const entry = nextEntry(head, chain, kind, data, now);
    const checkpoint = signCheckpoint(entry, key, now);
    const keep = entry.seq % CHECKPOINT_EVERY === 0;
    try {
      await documents().send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table(),
                Item: { ...auditEntryKey(chain, entry.seq), kind: "audit", entry: JSON.stringify(entry) },
                ConditionExpression: "attribute_not_exists(pk)",
              },
            },
            {
              Put: {
                TableName: table(),
                Item: {
                  ...auditHeadKey(chain),
                  seq: entry.seq,
                  hash: entry.hash,
                  checkpoint: JSON.stringify(checkpoint),
                },
                ConditionExpression: head ? "seq = :prev" : "attribute_not_exists(pk)",
                ...(head ? { ExpressionAttributeValues: { ":prev": head.seq } } : {}),
              },
            },
            ...(keep
              ? [
                  {
                    Put: {
                      TableName: table(),
                      Item: { ...checkpointKey(chain, entry.seq), checkpoint: JSON.stringify(checkpoint) },
                    },
                  },
                ]
              : []),
          ],
        }),
      );
      return entry;
    } catch (err) {
      if ((err as Error).name !== "TransactionCanceledException") throw err;
      // Another writer appended first: full jitter, then read its head.
      await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** Math.min(attempt, 6)));
    }
  }
  throw new Error(
    `audit chain ${chain}: could not append after ${MAX_ATTEMPTS} attempts (too many writers at once)`,
  );
}

/** The chain's entries in order, and every signed checkpoint kept (the head's included). */
export async function readChain(
  chain: string,
): Promise<{ entries: AuditEntry[]; checkpoints: Checkpoint[] }> {
  const entries: AuditEntry[] = [];
  const checkpoints: Checkpoint[] = [];
  for await (const item of queryAll({
    TableName: table(),
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": auditPk(chain) },
    ConsistentRead: true,
  })) {
    if (typeof item.entry === "string") entries.push(JSON.parse(item.entry) as AuditEntry);
    if (typeof item.checkpoint === "string") checkpoints.push(JSON.parse(item.checkpoint) as Checkpoint);
  }
  entries.sort((a, b) => a.seq - b.seq);
  return { entries, checkpoints };
}
