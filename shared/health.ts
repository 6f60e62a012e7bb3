import { DescribeTableCommand } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { queues, tables } from "../infra/manifest";
import { dynamo, sqs } from "./aws/clients";
import { queueUrl, tableName } from "./aws/resources";

export interface ComponentHealth {
  readonly component: string;
  readonly ok: boolean;
  readonly detail: string;
}

export type HealthCheck = () => Promise<ComponentHealth>;

async function probe(component: string, check: () => Promise<string>): Promise<ComponentHealth> {
  try {
    return { component, ok: true, detail: await check() };
  } catch (err) {
    return { component, ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/** One check per declared table and queue: the same on AWS and on the local hub. */
export function storageChecks(): HealthCheck[] {
  const tableChecks = tables.map(
    (t): HealthCheck =>
      () =>
        probe(`dynamodb:${t.name}`, async () => {
          const out = await dynamo().send(new DescribeTableCommand({ TableName: tableName(t.name) }));
          return out.Table?.TableStatus ?? "unknown";
        }),
  );
  const queueChecks = queues.map(
    (q): HealthCheck =>
      () =>
        probe(`sqs:${q.name}`, async () => {
          const out = await sqs().send(
            new GetQueueAttributesCommand({
              QueueUrl: queueUrl(q.name),
              AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            }),
          );
          const a = out.Attributes ?? {};
          return `${a.ApproximateNumberOfMessages ?? "?"} queued, ${a.ApproximateNumberOfMessagesNotVisible ?? "?"} in flight`;
        }),
  );
  return [...tableChecks, ...queueChecks];
}

export async function runChecks(
  checks: readonly HealthCheck[],
): Promise<{ ok: boolean; components: ComponentHealth[] }> {
  const components = await Promise.all(checks.map((c) => c()));
  return { ok: components.every((c) => c.ok), components };
}

export { probe as probeComponent };

// The runtime hosting the functions may report on itself too (the local hub: its emulators and
// pollers). On AWS nothing registers, and /health reports the declared tables and queues.
const runtimeChecks: HealthCheck[] = [];

export function registerRuntimeCheck(check: HealthCheck): () => void {
  runtimeChecks.push(check);
  return () => {
    const i = runtimeChecks.indexOf(check);
    if (i >= 0) runtimeChecks.splice(i, 1);
  };
}

/** What /health reports: the declared resources and whatever the runtime registered. */
export const allChecks = (): HealthCheck[] => [...storageChecks(), ...runtimeChecks];
