// `npm run redrive -- <Queue>`: moves the messages of a queue's dead-letter queue back to it, on the
// running local hub (on AWS: `aws sqs start-message-move-task --source-arn <dlq arn>`).
// The queues' consumers are safe to retry, so a redriven message is processed as if it were new.
import { GetQueueUrlCommand } from "@aws-sdk/client-sqs";
import { queueDef } from "../../infra/manifest";
import { loadConfig } from "../config";
import { redriveDeadLetters } from "../queue-poller";
import { localSqsClient, physicalQueueName } from "../sqs";

async function main(argv: string[]): Promise<number> {
  const [name] = argv;
  if (!name) {
    console.error("usage: npm run redrive -- <queue name from infra/manifest.ts, e.g. Fanout>");
    return 2;
  }
  let def: ReturnType<typeof queueDef>;
  try {
    def = queueDef(name);
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return 2;
  }
  if (!def.deadLetter) {
    console.error(`error: queue ${name} has no dead-letter queue`);
    return 2;
  }
  const config = loadConfig();
  const client = localSqsClient(`http://${config.host}:${config.sqsPort}`, config.region);
  const url = async (n: string) =>
    (await client.send(new GetQueueUrlCommand({ QueueName: physicalQueueName(queueDef(n)) }))).QueueUrl ?? "";
  const moved = await redriveDeadLetters(client, await url(def.deadLetter.queue), await url(name));
  console.log(`moved ${moved} message(s) from ${def.deadLetter.queue} back to ${name}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as Error & { cause?: { code?: string } };
    if (/ECONNREFUSED/.test(String(e.message)) || e.cause?.code === "ECONNREFUSED") {
      console.error("error: the hub is not running; start it with npm start");
    } else console.error(err);
    process.exit(1);
  },
);
