// `npm start`: the whole Relais hub in one process, on its embedded defaults.
import { ConfigError, loadConfig } from "./config";
import { startHub } from "./hub";
import { PortInUseError } from "./ports";

const log = (line: string) => console.log(`[relais] ${line}`);

async function main(): Promise<void> {
  const started = Date.now();
  // The locked SDK version supports Node 20; its notice about releases after January 2027 (Node 22
  // only) is for whoever upgrades it, not for someone starting the hub.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const config = loadConfig();
  log(`starting (data in ${config.dataDir})`);
  const hub = await startHub(config, log);
  const e = hub.endpoints;
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(
    [
      "",
      `  XMPP over WebSocket   ${e.websocket}    (subprotocol "xmpp", RFC 7395)`,
      `  HTTP API              ${e.http}/v1    (reference: ${e.http}/v1/docs, health: ${e.http}/health)`,
      `  Consent page          ${e.http}/console/me    (a data subject logs in with their XMPP account)`,
      `  @connections API      ${e.connections}`,
      `  DynamoDB emulator     ${e.dynamodb}`,
      `  SQS emulator          ${e.sqs}`,
      "",
      `  XMPP domains: ${config.domains.join(", ")}`,
      `  Sign an association up:  curl -s ${e.http}/v1/signup -H 'content-type: application/json' \\`,
      `    -d '{"name":"Coop du Val","contactEmail":"admin@coop.example","slug":"coop"}'`,
      `  Or add an account on a configured domain:  npm run account -- add alice@${config.domains[0] ?? "localhost"} <password>`,
      "",
      "  Ctrl-C stops the hub; tables and queued messages are kept in the data directory.",
      "",
    ].join("\n"),
  );

  let stoppingSince = 0;
  const stop = (signal: string) => {
    if (stoppingSince) {
      // One Ctrl-C arrives twice: from the terminal to the whole process group, and relayed by tsx.
      // Only a second press, later, means "stop waiting".
      if (Date.now() - stoppingSince < 1000) return;
      log("second signal: exiting now");
      process.exit(130);
    }
    stoppingSince = Date.now();
    log(`${signal}: stopping`);
    hub.stop().then(
      () => {
        log("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof PortInUseError) {
    console.error(`[relais] ${err.message}`);
  } else {
    console.error("[relais] failed to start:", err);
  }
  process.exit(1);
});
