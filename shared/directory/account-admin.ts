// What a tenant's admin does to accounts beyond creating them: list, disable, reset a password. SASL reads
// `disabled` on every login (shared/xmpp/session/sasl-step.ts), so a disabled account cannot log in.
import { QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { deriveCredentials } from "../sasl/credentials";
import { AccountError } from "./accounts";
import { accountKey, tenantAccountsIndexPk } from "./keys";

export const MIN_PASSWORD = 8;

export interface AccountSummary {
  readonly jid: string;
  readonly disabled: boolean;
  readonly createdAt: string;
}

/** The tenant's accounts (index read: one created a moment ago may be missing). */
export async function listTenantAccounts(tenantId: string): Promise<AccountSummary[]> {
  const out: AccountSummary[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents().send(
      new QueryCommand({
        TableName: tableName("Directory"),
        IndexName: "gsi1",
        KeyConditionExpression: "gsi1pk = :pk",
        ExpressionAttributeValues: { ":pk": tenantAccountsIndexPk(tenantId) },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const i of page.Items ?? [])
      out.push({ jid: String(i.jid), disabled: i.disabled === true, createdAt: String(i.createdAt ?? "") });
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return out;
}

export async function setAccountDisabled(bareJid: string, disabled: boolean): Promise<void> {
  await documents().send(
    new UpdateCommand({
      TableName: tableName("Directory"),
      Key: accountKey(bareJid),
      UpdateExpression: "SET disabled = :d",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":d": disabled },
    }),
  );
}

/** New salted credentials; also lifts a login lock, since the admin vouches for the new password. */
export async function resetPassword(bareJid: string, password: string): Promise<void> {
  if (password.length < MIN_PASSWORD)
    throw new AccountError("weak-password", `the password must have at least ${MIN_PASSWORD} characters`);
  await documents().send(
    new UpdateCommand({
      TableName: tableName("Directory"),
      Key: accountKey(bareJid),
      UpdateExpression: "SET credentials = :c, failedLogins = :z, lockedUntil = :z",
      ConditionExpression: "attribute_exists(pk)",
      ExpressionAttributeValues: { ":c": await deriveCredentials(password), ":z": 0 },
    }),
  );
}
