import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { deriveCredentials, type StoredCredentials } from "../sasl/credentials";
import { hostedDomain } from "./domains";
import { accountKey, tenantAccountsIndexPk } from "./keys";

export interface Account {
  readonly jid: string;
  readonly tenantId: string;
  readonly credentials: StoredCredentials;
  readonly disabled: boolean;
  /** Failed logins in the current window, and until when logins are refused (epoch ms). */
  readonly failedLogins: number;
  readonly lockedUntil: number;
}

/** Failed logins tolerated before an account is locked, and for how long. */
export const loginThrottle = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 5 * 60_000 } as const;

export class AccountError extends Error {
  constructor(
    readonly code: "invalid-jid" | "unknown-domain" | "exists" | "weak-password",
    message: string,
  ) {
    super(message);
    this.name = "AccountError";
  }
}

// Localparts are kept to a conservative, already-normalised set until full PRECIS (RFC 7613) lands:
// refusing is safer than storing two spellings of one identity.
const localpartPattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;

export function parseBareJid(jid: string): { local: string; domain: string } {
  const at = jid.indexOf("@");
  const local = jid.slice(0, at).toLowerCase();
  const domain = jid.slice(at + 1).toLowerCase();
  if (at <= 0 || !localpartPattern.test(local) || !domain || domain.includes("/") || domain.includes("@")) {
    throw new AccountError(
      "invalid-jid",
      `"${jid}" is not a valid account address: expected name@domain, with a name of lowercase letters, digits, ".", "_" or "-"`,
    );
  }
  return { local, domain };
}

export async function createAccount(jid: string, password: string): Promise<Account> {
  const { local, domain } = parseBareJid(jid);
  if (password.length < 8)
    throw new AccountError("weak-password", "the password must have at least 8 characters");
  const hosted = await hostedDomain(domain);
  if (!hosted) throw new AccountError("unknown-domain", `domain ${domain} is not hosted here`);
  const bare = `${local}@${domain}`;
  const account: Account = {
    jid: bare,
    tenantId: hosted.tenantId,
    credentials: await deriveCredentials(password),
    disabled: false,
    failedLogins: 0,
    lockedUntil: 0,
  };
  try {
    await documents().send(
      new PutCommand({
        TableName: tableName("Directory"),
        Item: {
          ...accountKey(bare),
          // Listed per tenant by the HTTP API.
          gsi1pk: tenantAccountsIndexPk(hosted.tenantId),
          gsi1sk: bare,
          kind: "account",
          ...account,
          createdAt: new Date().toISOString(),
        },
        ConditionExpression: "attribute_not_exists(pk)",
      }),
    );
  } catch (err) {
    if ((err as Error).name === "ConditionalCheckFailedException") {
      throw new AccountError("exists", `account ${bare} already exists`);
    }
    throw err;
  }
  return account;
}

export async function getAccount(bareJid: string): Promise<Account | undefined> {
  const out = await documents().send(
    new GetCommand({ TableName: tableName("Directory"), Key: accountKey(bareJid.toLowerCase()) }),
  );
  if (!out.Item) return undefined;
  const i = out.Item;
  return {
    jid: String(i.jid),
    tenantId: String(i.tenantId),
    credentials: i.credentials as StoredCredentials,
    disabled: i.disabled === true,
    failedLogins: Number(i.failedLogins ?? 0),
    lockedUntil: Number(i.lockedUntil ?? 0),
  };
}

export async function deleteAccount(bareJid: string): Promise<void> {
  await documents().send(new DeleteCommand({ TableName: tableName("Directory"), Key: accountKey(bareJid) }));
}

/** Counts a failed login; locks the account once too many failed within the window. */
export async function recordLoginFailure(bareJid: string, now = Date.now()): Promise<void> {
  const out = await documents()
    .send(
      new UpdateCommand({
        TableName: tableName("Directory"),
        Key: accountKey(bareJid),
        UpdateExpression: "ADD failedLogins :one SET lastFailureAt = :now",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":one": 1, ":now": now },
        ReturnValues: "ALL_OLD",
      }),
    )
    .catch((err: Error) => {
      if (err.name === "ConditionalCheckFailedException") return undefined;
      throw err;
    });
  const old = out?.Attributes;
  if (!old) return;
  const previous = Number(old.lastFailureAt ?? 0);
  const failures = now - previous > loginThrottle.windowMs ? 1 : Number(old.failedLogins ?? 0) + 1;
  await documents().send(
    new UpdateCommand({
      TableName: tableName("Directory"),
      Key: accountKey(bareJid),
      UpdateExpression: "SET failedLogins = :f, lockedUntil = :l",
      ExpressionAttributeValues: {
        ":f": failures,
        ":l": failures >= loginThrottle.maxFailures ? now + loginThrottle.lockMs : 0,
      },
    }),
  );
}

export async function recordLoginSuccess(bareJid: string): Promise<void> {
  await documents()
    .send(
      new UpdateCommand({
        TableName: tableName("Directory"),
        Key: accountKey(bareJid),
        UpdateExpression: "SET failedLogins = :z, lockedUntil = :z",
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeValues: { ":z": 0 },
      }),
    )
    .catch((err: Error) => {
      if (err.name !== "ConditionalCheckFailedException") throw err;
    });
}
