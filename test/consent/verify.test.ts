import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documents } from "../../shared/aws/clients";
import { tableName } from "../../shared/aws/resources";
import { appendAudit } from "../../shared/consent/audit";
import { tenantKey } from "../../shared/consent/keys";
import { auditEntryKey, chainOf } from "../../shared/consent/layout";
import { consentRequestSchema } from "../../shared/consent/record";
import { changeConsent, createConsent } from "../../shared/consent/store";
import { verifyReceiptText } from "../../shared/consent/verify";
import { startTestHub, type TestHub } from "../support/hub";

// `npm run verify` as a person would run it, in its own process against the running hub: it accepts
// an intact receipt and chain, and names what was altered: any changed byte of a receipt, an edited
// audit entry, a cut-off tail.

const run = promisify(execFile);
const TENANT = "local-verify.test";
const SUBJECT = "household@verify.test";
let t: TestHub;

beforeAll(async () => {
  t = await startTestHub({ domains: ["verify.test"] });
});
afterAll(async () => {
  await t?.stop();
});

async function verifyCli(...args: string[]): Promise<{ code: number; out: string }> {
  const env = {
    ...process.env,
    RELAIS_DATA_DIR: t.dataDir,
    RELAIS_DYNAMODB_PORT: new URL(t.hub.endpoints.dynamodb).port,
  };
  try {
    const { stdout } = await run("npx", ["tsx", "local/cli/verify.ts", ...args], { env });
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: `${e.stdout}${e.stderr}` };
  }
}

async function grantedReceipt(): Promise<string> {
  const request = consentRequestSchema.parse({
    subject: SUBJECT,
    recipient: { kind: "jid", id: "advisor@elsewhere.test" },
    scope: { streams: [{ service: "pubsub.verify.test", node: "meter" }] },
    purposes: [{ code: "ServiceProvision" }],
    retentionDays: 30,
    validDays: 90,
  });
  const record = await createConsent(TENANT, request, "advisor@elsewhere.test", "http");
  const { receipt } = await changeConsent(
    record.consentId,
    "granted",
    { by: SUBJECT, via: "http" },
    "verify.test",
  );
  return JSON.stringify(receipt, null, 2);
}

describe("npm run verify", () => {
  it("accepts an intact receipt, and refuses one with any byte of its content changed", {
    timeout: 60_000,
  }, async () => {
    const text = await grantedReceipt();
    const file = join(t.dataDir, "receipt.json");
    await writeFile(file, text);
    const good = await verifyCli("receipt", file, TENANT);
    expect(good.code, good.out).toBe(0);
    expect(good.out).toMatch(/signature valid.*the tenant's/);

    // Every letter or digit of the receipt part, changed one at a time (pure check: same code as the CLI).
    const key = tenantKey(TENANT);
    const end = text.indexOf('"signature"');
    let tried = 0;
    for (let i = 0; i < end; i++) {
      const c = text[i] as string;
      if (!/[A-Za-z0-9]/.test(c)) continue;
      const altered = `${text.slice(0, i)}${c === "a" ? "b" : c === "0" ? "1" : /[0-9]/.test(c) ? "0" : "a"}${text.slice(i + 1)}`;
      expect(verifyReceiptText(altered, key).ok, `byte ${i} changed`).toBe(false);
      tried++;
    }
    expect(tried).toBeGreaterThan(300);
    // And through the CLI, one byte of the subject's name.
    const at = text.indexOf("household");
    await writeFile(file, `${text.slice(0, at)}H${text.slice(at + 1)}`);
    const bad = await verifyCli("receipt", file, TENANT);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/altered/);
    // Signed by another tenant's key: refused when the tenant is named.
    await writeFile(file, text);
    expect((await verifyCli("receipt", file, "local-someone-else")).code).toBe(1);
  });

  it("checks a chain, names the first altered entry, and sees a cut-off tail", {
    timeout: 60_000,
  }, async () => {
    const chain = chainOf(TENANT, SUBJECT);
    for (let i = 0; i < 3; i++) await appendAudit(TENANT, chain, "delivery", { itemId: `i${i}`, to: ["a"] });
    const intact = await verifyCli("chain", TENANT, SUBJECT);
    expect(intact.code, intact.out).toBe(0);
    expect(intact.out).toMatch(/intact/);

    // Someone edits entry 2 in the table.
    const key = auditEntryKey(chain, 2);
    const original = (await documents().send(new GetCommand({ TableName: tableName("Consents"), Key: key })))
      .Item;
    if (!original) throw new Error("no entry 2");
    const entry = JSON.parse(String(original.entry)) as { data: unknown };
    const edited = { ...original, entry: JSON.stringify({ ...entry, data: { forged: true } }) };
    await documents().send(new PutCommand({ TableName: tableName("Consents"), Item: edited }));
    const tampered = await verifyCli("chain", TENANT, SUBJECT);
    expect(tampered.code).toBe(1);
    expect(tampered.out).toMatch(/entry 2: entry 2 was altered/);

    // Put back; then the last entry is deleted: the signed head still vouches for it.
    await documents().send(new PutCommand({ TableName: tableName("Consents"), Item: original }));
    expect((await verifyCli("chain", TENANT, SUBJECT)).code).toBe(0);
    const head = (
      await documents().send(
        new GetCommand({ TableName: tableName("Consents"), Key: { pk: key.pk, sk: "HEAD" } }),
      )
    ).Item;
    await documents().send(
      new DeleteCommand({ TableName: tableName("Consents"), Key: auditEntryKey(chain, Number(head?.seq)) }),
    );
    const cut = await verifyCli("chain", TENANT, SUBJECT);
    expect(cut.code).toBe(1);
    expect(cut.out).toMatch(/tail was cut off/);
  });
});
