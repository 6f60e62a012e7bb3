// Idempotency-Key (draft-ietf-httpapi-idempotency-key-header) for POSTs that publish: the first request
// with a key claims it with its request's hash; a retry with the same hash gets the stored answer, one
// with another hash a 422. Keys are kept 24 hours (TTL). A claim is released when its request fails, so
// a corrected retry may reuse the key.
import { createHash } from "node:crypto";
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { idempotencyKey } from "../directory/keys";
import { ProblemError } from "./problem";

export const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/**
 * A claim still pending after this long belongs to a request that died half-way (a crashed function):
 * the same request may take it over. Publishing under the key's derived item id makes that safe.
 */
export const STALE_CLAIM_SECONDS = 60;
const table = () => tableName("Directory");

export type Claim =
  | { readonly kind: "new" }
  | { readonly kind: "replay"; readonly status: number; readonly body: unknown };

export function requestHash(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(p).update("\0");
  return h.digest("hex");
}

/** A stable id derived from the key: an item published under it is the same item on every retry. */
export const idempotentItemId = (tenantId: string, key: string): string =>
  `idem-${createHash("sha256").update(`${tenantId}\0${key}`).digest("hex").slice(0, 32)}`;

/** Claims `key` for a request whose hash is `hash`, or returns the stored answer of the same request. */
export async function claimKey(
  tenantId: string,
  key: string,
  hash: string,
  now = Date.now(),
): Promise<Claim> {
  try {
    await documents().send(
      new PutCommand({
        TableName: table(),
        Item: {
          ...idempotencyKey(tenantId, key),
          kind: "idempotency",
          hash,
          state: "pending",
          claimedAt: Math.floor(now / 1000),
          expiresAt: Math.floor(now / 1000) + IDEMPOTENCY_TTL_SECONDS,
        },
        // An expired key (TTL not yet swept) may be claimed again; so may a stale claim of the same request.
        ConditionExpression:
          "attribute_not_exists(pk) OR expiresAt < :now OR (#s = :pending AND #h = :hash AND claimedAt < :stale)",
        ExpressionAttributeNames: { "#s": "state", "#h": "hash" },
        ExpressionAttributeValues: {
          ":now": Math.floor(now / 1000),
          ":pending": "pending",
          ":hash": hash,
          ":stale": Math.floor(now / 1000) - STALE_CLAIM_SECONDS,
        },
      }),
    );
    return { kind: "new" };
  } catch (err) {
    if ((err as Error).name !== "ConditionalCheckFailedException") throw err;
  }
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: idempotencyKey(tenantId, key), ConsistentRead: true }),
  );
  const item = out.Item;
  if (!item) return claimKey(tenantId, key, hash, now); // released in between
  if (item.hash !== hash) {
    throw new ProblemError(
      "idempotency-key-reused",
      "this Idempotency-Key was used in the last 24 hours for a request with another body or target",
      [{ field: "Idempotency-Key", reason: "already used for a different request", in: "header" }],
    );
  }
  if (item.state !== "done") {
    throw new ProblemError(
      "idempotency-in-progress",
      "the first request with this Idempotency-Key is still being handled; retry in a moment",
      [{ field: "Idempotency-Key", reason: "in progress", in: "header" }],
      { "retry-after": "1" },
    );
  }
  return { kind: "replay", status: Number(item.status), body: item.body };
}

export async function completeKey(
  tenantId: string,
  key: string,
  status: number,
  body: unknown,
): Promise<void> {
  await documents().send(
    new UpdateCommand({
      TableName: table(),
      Key: idempotencyKey(tenantId, key),
      UpdateExpression: "SET #s = :done, #st = :status, #b = :body",
      ExpressionAttributeNames: { "#s": "state", "#st": "status", "#b": "body" },
      ExpressionAttributeValues: { ":done": "done", ":status": status, ":body": body },
    }),
  );
}

export async function releaseKey(tenantId: string, key: string): Promise<void> {
  await documents().send(new DeleteCommand({ TableName: table(), Key: idempotencyKey(tenantId, key) }));
}
