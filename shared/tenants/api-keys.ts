// API keys: "rls_<key id>_<secret>". The id finds the key's item with one GetItem; only the SHA-256 of
// the secret is stored. SHA-256 rather than bcrypt/scrypt: the secret is 32 random bytes (256 bits), not
// a password a person chose, so there is nothing to slow a guesser down for, and every API request checks
// a key (a deliberately slow hash would cost each request tens of milliseconds of CPU).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { apiKeyKey, tenantKeysIndexPk } from "../directory/keys";
import { randomId } from "./tenants";

export const SCOPES = ["admin", "ingest", "read"] as const;
export type Scope = (typeof SCOPES)[number];

export interface ApiKey {
  readonly keyId: string;
  readonly tenantId: string;
  readonly scope: Scope;
  /** For ingest keys: the one stream (node id) they may publish to. */
  readonly stream?: string;
  readonly name: string;
  readonly createdAt: string;
  readonly rotatedAt?: string;
}

const table = () => tableName("Directory");
const PREFIX = "rls_";
const hashOf = (secret: string): string => createHash("sha256").update(secret).digest("hex");

function newSecret(keyId: string): { key: string; hash: string } {
  const secret = randomBytes(32).toString("base64url");
  return { key: `${PREFIX}${keyId}_${secret}`, hash: hashOf(secret) };
}

function parseKey(key: string): { keyId: string; secret: string } | undefined {
  const m = /^rls_([a-z0-9]{8,40})_([A-Za-z0-9_-]{43})$/.exec(key);
  return m ? { keyId: m[1] as string, secret: m[2] as string } : undefined;
}

/** Creates a key; the returned `key` is the only time its secret exists outside the caller. */
export async function createApiKey(input: {
  tenantId: string;
  scope: Scope;
  stream?: string;
  name: string;
}): Promise<{ apiKey: ApiKey; key: string }> {
  const keyId = randomId(12);
  const { key, hash } = newSecret(keyId);
  const apiKey: ApiKey = {
    keyId,
    tenantId: input.tenantId,
    scope: input.scope,
    ...(input.stream === undefined ? {} : { stream: input.stream }),
    name: input.name,
    createdAt: new Date().toISOString(),
  };
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...apiKeyKey(keyId),
        gsi1pk: tenantKeysIndexPk(input.tenantId),
        gsi1sk: keyId,
        kind: "apikey",
        ...apiKey,
        hash,
      },
      ConditionExpression: "attribute_not_exists(pk)",
    }),
  );
  return { apiKey, key };
}

/** The key a bearer token is, or undefined: malformed, unknown, revoked or a wrong secret look alike. */
export async function verifyApiKey(token: string): Promise<ApiKey | undefined> {
  const parsed = parseKey(token);
  if (!parsed) return undefined;
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: apiKeyKey(parsed.keyId), ConsistentRead: true }),
  );
  const item = out.Item;
  if (!item || typeof item.hash !== "string") return undefined;
  const expected = Buffer.from(item.hash, "hex");
  const actual = Buffer.from(hashOf(parsed.secret), "hex");
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
  return toApiKey(item);
}

export async function getApiKey(tenantId: string, keyId: string): Promise<ApiKey | undefined> {
  const out = await documents().send(new GetCommand({ TableName: table(), Key: apiKeyKey(keyId) }));
  // Another tenant's key is answered like a missing one.
  return out.Item && out.Item.tenantId === tenantId ? toApiKey(out.Item) : undefined;
}

export async function listApiKeys(tenantId: string): Promise<ApiKey[]> {
  const keys: ApiKey[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await documents().send(
      new QueryCommand({
        TableName: table(),
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": tenantKeysIndexPk(tenantId) },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of out.Items ?? []) keys.push(toApiKey(item));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return keys;
}

/** A new secret for the same key (id, scope, stream): the old secret stops working at once. */
export async function rotateApiKey(
  tenantId: string,
  keyId: string,
): Promise<{ apiKey: ApiKey; key: string } | undefined> {
  const { key, hash } = newSecret(keyId);
  try {
    const out = await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: apiKeyKey(keyId),
        UpdateExpression: "SET #h = :h, rotatedAt = :now",
        ConditionExpression: "tenantId = :t",
        ExpressionAttributeNames: { "#h": "hash" },
        ExpressionAttributeValues: { ":h": hash, ":now": new Date().toISOString(), ":t": tenantId },
        ReturnValues: "ALL_NEW",
      }),
    );
    return out.Attributes ? { apiKey: toApiKey(out.Attributes), key } : undefined;
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return undefined;
    throw err;
  }
}

/** Deletes the key; false when the tenant has no such key. */
export async function revokeApiKey(tenantId: string, keyId: string): Promise<boolean> {
  try {
    await documents().send(
      new DeleteCommand({
        TableName: table(),
        Key: apiKeyKey(keyId),
        ConditionExpression: "tenantId = :t",
        ExpressionAttributeValues: { ":t": tenantId },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}

function toApiKey(item: Record<string, unknown>): ApiKey {
  const scope = (SCOPES as readonly unknown[]).includes(item.scope) ? (item.scope as Scope) : "read";
  return {
    keyId: String(item.keyId),
    tenantId: String(item.tenantId),
    scope,
    ...(typeof item.stream === "string" ? { stream: item.stream } : {}),
    name: String(item.name ?? ""),
    createdAt: String(item.createdAt ?? ""),
    ...(typeof item.rotatedAt === "string" ? { rotatedAt: item.rotatedAt } : {}),
  };
}
