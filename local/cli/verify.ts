// `npm run verify -- receipt <file> [tenantId]` checks a consent receipt's signature (and that it is
// the tenant's key); `npm run verify -- chain <tenantId> <subject>` checks a data subject's audit chain
// on the running local hub and names the first altered entry. Exit code 0 when intact, 1 otherwise.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tableEnvVar } from "../../infra/manifest";
import { tenantKey } from "../../shared/consent/keys";
import { chainOf } from "../../shared/consent/layout";
import { verifyReceiptText, verifyStoredChain } from "../../shared/consent/verify";
import { loadConfig } from "../config";

const usage = "usage: npm run verify -- receipt <file> [tenantId] | chain <tenantId> <subject jid>";

async function main(argv: string[]): Promise<number> {
  const [what, a, b] = argv;
  const config = loadConfig();
  // The tenant keys derive from the hub's signing secret, kept in its data directory.
  const secretFile = join(config.dataDir, "secrets", "SigningSecret");
  const secret = () => Buffer.from(readFileSync(secretFile, "utf8").trim(), "utf8");
  if (what === "receipt" && a) {
    const report = verifyReceiptText(readFileSync(a, "utf8"), b ? tenantKey(b, secret()) : undefined);
    for (const line of report.lines) console.log(line);
    return report.ok ? 0 : 1;
  }
  if (what === "chain" && a && b) {
    Object.assign(process.env, {
      AWS_REGION: config.region,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_ENDPOINT_URL_DYNAMODB: `http://${config.host}:${config.dynamodbPort}`,
      [tableEnvVar("Consents")]: "Consents",
    });
    const report = await verifyStoredChain(chainOf(a, b.toLowerCase()), tenantKey(a, secret()));
    for (const line of report.lines) console.log(line);
    return report.ok ? 0 : 1;
  }
  console.error(usage);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
