// `npm run account -- add alice@localhost [password]`: creates an account on the running local hub.
// A stand-in for the tenant admin API (a later issue); it talks to the hub's DynamoDB emulator.
import { randomBytes } from "node:crypto";
import { tableEnvVar } from "../../infra/manifest";
import { AccountError, createAccount, deleteAccount, getAccount } from "../../shared/directory/accounts";
import { loadConfig } from "../config";

const usage = "usage: npm run account -- add <name@domain> [password] | delete <name@domain>";

async function main(argv: string[]): Promise<number> {
  const [command, jid, given] = argv;
  if (!command || !jid || !["add", "delete"].includes(command)) {
    console.error(usage);
    return 2;
  }
  const config = loadConfig();
  Object.assign(process.env, {
    AWS_REGION: config.region,
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: `http://${config.host}:${config.dynamodbPort}`,
    [tableEnvVar("Directory")]: "Directory",
  });
  try {
    if (command === "delete") {
      if (!(await getAccount(jid))) throw new AccountError("invalid-jid", `no account ${jid}`);
      await deleteAccount(jid.toLowerCase());
      console.log(`deleted ${jid}`);
      return 0;
    }
    const password = given ?? randomBytes(12).toString("base64url");
    const account = await createAccount(jid, password);
    console.log(`created ${account.jid}${given ? "" : ` with password ${password}`}`);
    return 0;
  } catch (err) {
    if (err instanceof AccountError) {
      console.error(`error: ${err.message}`);
      return 1;
    }
    const e = err as NodeJS.ErrnoException & { cause?: { code?: string } };
    if (
      e.code === "ECONNREFUSED" ||
      e.cause?.code === "ECONNREFUSED" ||
      /ECONNREFUSED/.test(String(e.message))
    ) {
      console.error(
        `error: the hub is not running on ${config.host}:${config.dynamodbPort}; start it with npm start`,
      );
      return 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
