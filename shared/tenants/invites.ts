// Invitations (in the spirit of XEP-0401 pre-authenticated registration): a random token, stored as its
// SHA-256, valid until it expires (TTL) and for one account only. The member redeems it over HTTP and
// chooses the password; the admin never knows it.
import { createHash, randomBytes } from "node:crypto";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { inviteKey, tenantInvitesIndexPk } from "../directory/keys";

export interface Invite {
  readonly tenantId: string;
  readonly domain: string;
  /** The localpart the admin chose; absent: the member chooses. */
  readonly username?: string;
  /** Epoch seconds. */
  readonly expiresAt: number;
  readonly usedAt?: string;
}

const table = () => tableName("Directory");
const hashOf = (token: string) => createHash("sha256").update(token).digest("hex");

export async function createInvite(input: {
  tenantId: string;
  domain: string;
  username?: string;
  ttlSeconds: number;
}): Promise<{ token: string; invite: Invite }> {
  const token = randomBytes(24).toString("base64url");
  const invite: Invite = {
    tenantId: input.tenantId,
    domain: input.domain,
    ...(input.username === undefined ? {} : { username: input.username }),
    expiresAt: Math.floor(Date.now() / 1000) + input.ttlSeconds,
  };
  await documents().send(
    new PutCommand({
      TableName: table(),
      Item: {
        ...inviteKey(hashOf(token)),
        gsi1pk: tenantInvitesIndexPk(input.tenantId),
        gsi1sk: String(invite.expiresAt),
        kind: "invite",
        ...invite,
      },
    }),
  );
  return { token, invite };
}

/** The invite a token is, unused and unexpired; undefined otherwise (the three look alike to a guesser). */
export async function usableInvite(token: string, now = Date.now()): Promise<Invite | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: table(), Key: inviteKey(hashOf(token)), ConsistentRead: true }),
  );
  const i = out.Item;
  if (!i || i.usedAt !== undefined || Number(i.expiresAt) <= now / 1000) return undefined;
  return {
    tenantId: String(i.tenantId),
    domain: String(i.domain),
    ...(typeof i.username === "string" ? { username: i.username } : {}),
    expiresAt: Number(i.expiresAt),
  };
}

/** Marks the invite used, once: false when another redemption took it first, or it expired meanwhile. */
export async function consumeInvite(token: string, now = Date.now()): Promise<boolean> {
  try {
    await documents().send(
      new UpdateCommand({
        TableName: table(),
        Key: inviteKey(hashOf(token)),
        UpdateExpression: "SET usedAt = :at",
        ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(usedAt) AND expiresAt > :now",
        ExpressionAttributeValues: { ":at": new Date(now).toISOString(), ":now": Math.floor(now / 1000) },
      }),
    );
    return true;
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") return false;
    throw err;
  }
}

/** Gives an invite back when the account could not be created after all (taken name, quota). */
export async function unconsumeInvite(token: string): Promise<void> {
  await documents().send(
    new UpdateCommand({
      TableName: table(),
      Key: inviteKey(hashOf(token)),
      UpdateExpression: "REMOVE usedAt",
    }),
  );
}
