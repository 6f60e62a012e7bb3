import { randomBytes } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { z } from "zod";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { failure, type WebhookResult } from "./errors";
import { EP_PREFIX, endpointKey, webhookPk } from "./keys";
import { type Lookup, resolveTarget, systemLookup } from "./resolve";
import {
  type EndpointInput,
  type EndpointOutput,
  type EndpointWithSecret,
  endpointInput,
  endpointPatch,
} from "./schemas";
import { newSigningSecret, openSecret, sealSecret, secretContext } from "./secrets";
import { type WebhookSettings, webhookSettings } from "./settings";

// The endpoint registry: a tenant's webhook endpoints in the Directory table (keys.ts). Every function
// takes the tenant first and only ever touches keys under it. URLs pass the SSRF guard when they are
// registered or changed; they are checked again at each delivery (DNS answers change).

const table = (): string => tableName("Directory");

/** An endpoint as the delivery side needs it. */
export interface EndpointRecord {
  readonly tenantId: string;
  readonly id: string;
  readonly url: string;
  readonly streams: "all" | readonly string[];
  readonly description: string;
  readonly enabled: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly secretRotatedAt: number;
  readonly failedDeliveries: number;
  readonly sealedSecret: string;
  /** The secret before the last rotation, still signed with until previousSecretUntil (epoch ms). */
  readonly sealedPreviousSecret?: string;
  readonly previousSecretUntil?: number;
}

/** How long deliveries are signed with both the old and the new secret after a rotation, by default. */
export const ROTATION_OVERLAP_SECONDS = 24 * 3600;

export interface RegistryOptions {
  settings?: WebhookSettings;
  /** DNS for the SSRF check; tests of public names pass a fake (no public DNS here). */
  lookup?: Lookup;
}

export async function createEndpoint(
  tenantId: string,
  input: EndpointInput,
  opts: RegistryOptions = {},
): Promise<WebhookResult<EndpointWithSecret>> {
  const parsed = endpointInput.safeParse(input);
  if (!parsed.success) return invalid(parsed.error);
  const refused = await urlRefusal(parsed.data.url, opts);
  if (refused) return refused;
  const id = `ep_${randomBytes(12).toString("base64url")}`;
  const secret = newSigningSecret();
  const now = Date.now();
  const record: EndpointRecord = {
    tenantId,
    id,
    url: parsed.data.url,
    streams: parsed.data.streams,
    description: parsed.data.description,
    enabled: parsed.data.enabled,
    createdAt: now,
    updatedAt: now,
    secretRotatedAt: now,
    failedDeliveries: 0,
    sealedSecret: sealSecret(secret, secretContext(tenantId, id)),
  };
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: { ...endpointKey(tenantId, id), kind: "webhook-endpoint", ...record },
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
  return { ok: true, value: { ...toOutput(record), secret } };
}

export async function listEndpoints(tenantId: string): Promise<EndpointOutput[]> {
  return (await endpointRecords(tenantId)).map(toOutput);
}

export async function getEndpoint(
  tenantId: string,
  endpointId: string,
): Promise<WebhookResult<EndpointOutput>> {
  const record = await endpointRecord(tenantId, endpointId);
  return record ? { ok: true, value: toOutput(record) } : notFound(endpointId);
}

export async function updateEndpoint(
  tenantId: string,
  endpointId: string,
  patch: z.input<typeof endpointPatch>,
  opts: RegistryOptions = {},
): Promise<WebhookResult<EndpointOutput>> {
  const parsed = endpointPatch.safeParse(patch);
  if (!parsed.success) return invalid(parsed.error);
  const changes = parsed.data;
  if (changes.url !== undefined) {
    const refused = await urlRefusal(changes.url, opts);
    if (refused) return refused;
  }
  const sets = ["updatedAt = :now"];
  const values: Record<string, unknown> = { ":now": Date.now() };
  const names: Record<string, string> = {};
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) continue;
    names[`#${field}`] = field;
    values[`:${field}`] = value;
    sets.push(`#${field} = :${field}`);
  }
  try {
    const out = await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: endpointKey(tenantId, endpointId),
        UpdateExpression: `SET ${sets.join(", ")}`,
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeNames: Object.keys(names).length > 0 ? names : undefined,
        ExpressionAttributeValues: values,
        ReturnValues: "ALL_NEW",
      }),
    );
    return { ok: true, value: toOutput(fromItem(out.Attributes ?? {})) };
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return notFound(endpointId);
    throw err;
  }
}

/** Deletes the endpoint; its pending deliveries end as failed ("endpoint deleted"), its log stays until TTL. */
export async function deleteEndpoint(tenantId: string, endpointId: string): Promise<WebhookResult<void>> {
  const out = await documents().send(
    new DeleteCommand({
      TableName: table(),
      Key: endpointKey(tenantId, endpointId),
      ReturnValues: "ALL_OLD",
    }),
  );
  return out.Attributes ? { ok: true, value: undefined } : notFound(endpointId);
}

/**
 * A new signing secret, returned once. Deliveries carry signatures by both the new and the previous
 * secret for `overlapSeconds`, so receivers can switch without rejecting anything in between.
 */
export async function rotateSecret(
  tenantId: string,
  endpointId: string,
  opts: { overlapSeconds?: number } = {},
): Promise<WebhookResult<EndpointWithSecret>> {
  const current = await endpointRecord(tenantId, endpointId);
  if (!current) return notFound(endpointId);
  const secret = newSigningSecret();
  const now = Date.now();
  const overlapMs = (opts.overlapSeconds ?? ROTATION_OVERLAP_SECONDS) * 1000;
  try {
    const out = await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: endpointKey(tenantId, endpointId),
        UpdateExpression:
          "SET sealedSecret = :new, sealedPreviousSecret = :old, previousSecretUntil = :until, secretRotatedAt = :now, updatedAt = :now",
        // Two rotations at once: the second must not keep a secret nobody was shown as "previous".
        ConditionExpression: "sealedSecret = :old",
        ExpressionAttributeValues: {
          ":new": sealSecret(secret, secretContext(tenantId, endpointId)),
          ":old": current.sealedSecret,
          ":until": now + overlapMs,
          ":now": now,
        },
        ReturnValues: "ALL_NEW",
      }),
    );
    return { ok: true, value: { ...toOutput(fromItem(out.Attributes ?? {})), secret } };
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") {
      return rotateSecret(tenantId, endpointId, opts);
    }
    throw err;
  }
}

// ---- for the delivery side

/** The endpoint with its sealed secrets, strongly consistent; undefined when it does not exist. */
export async function endpointRecord(
  tenantId: string,
  endpointId: string,
): Promise<EndpointRecord | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: endpointKey(tenantId, endpointId), ConsistentRead: true }),
  );
  return out.Item ? fromItem(out.Item) : undefined;
}

export async function endpointRecords(tenantId: string): Promise<EndpointRecord[]> {
  const records: EndpointRecord[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await documents().send(
      new QueryCommand({
        TableName: table(),
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :ep)",
        ExpressionAttributeValues: { ":pk": webhookPk(tenantId), ":ep": EP_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of out.Items ?? []) records.push(fromItem(item));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return records;
}

/** The secrets to sign with now: the current one, and the previous one during a rotation's overlap. */
export function signingSecrets(record: EndpointRecord, now: number = Date.now()): string[] {
  const context = secretContext(record.tenantId, record.id);
  const secrets = [openSecret(record.sealedSecret, context)];
  if (record.sealedPreviousSecret && (record.previousSecretUntil ?? 0) > now) {
    secrets.push(openSecret(record.sealedPreviousSecret, context));
  }
  return secrets;
}

// ---- helpers

async function urlRefusal(
  url: string,
  opts: RegistryOptions,
): Promise<{ ok: false; error: ReturnType<typeof failure>["error"] } | undefined> {
  const check = await resolveTarget(url, opts.settings ?? webhookSettings(), opts.lookup ?? systemLookup);
  return check.ok ? undefined : failure("url-refused", `${url}: ${check.reason}`, "url");
}

function invalid(error: z.ZodError): { ok: false; error: ReturnType<typeof failure>["error"] } {
  const issue = error.issues[0];
  const field = (issue?.path ?? [])
    .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`))
    .join("");
  return failure(
    "invalid-input",
    issue ? `${field || "body"}: ${issue.message}` : "invalid input",
    field || undefined,
  );
}

const notFound = (endpointId: string) => failure("not-found", `no webhook endpoint ${endpointId}`);

function fromItem(item: Record<string, unknown>): EndpointRecord {
  const streams = item.streams === "all" ? "all" : ((item.streams as string[] | undefined) ?? []);
  return {
    tenantId: String(item.tenantId),
    id: String(item.id),
    url: String(item.url),
    streams,
    description: String(item.description ?? ""),
    enabled: item.enabled !== false,
    createdAt: Number(item.createdAt),
    updatedAt: Number(item.updatedAt),
    secretRotatedAt: Number(item.secretRotatedAt),
    failedDeliveries: Number(item.failedDeliveries ?? 0),
    sealedSecret: String(item.sealedSecret),
    ...(typeof item.sealedPreviousSecret === "string"
      ? {
          sealedPreviousSecret: item.sealedPreviousSecret,
          previousSecretUntil: Number(item.previousSecretUntil),
        }
      : {}),
  };
}

function toOutput(r: EndpointRecord): EndpointOutput {
  return {
    id: r.id,
    url: r.url,
    streams: r.streams === "all" ? "all" : [...r.streams],
    description: r.description,
    enabled: r.enabled,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
    secretRotatedAt: new Date(r.secretRotatedAt).toISOString(),
    failedDeliveries: r.failedDeliveries,
  };
}
