import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { documents, sqs } from "../../shared/aws/clients";
import { queueUrl, tableName } from "../../shared/aws/resources";
import { startTestHub, type TestHub } from "../support/hub";

// A graceful restart of the whole local hub (the npm start process, in this test process) keeps the
// tables' data and the messages waiting in queues, including those in flight at the time.

let second: TestHub | undefined;
afterAll(async () => {
  await second?.stop();
});

describe("local hub restart", () => {
  it("keeps table items and queued messages across a graceful stop and start", async () => {
    const first = await startTestHub();
    // Nothing consumes SessionExpiryDlq, so what is sent there stays until read.
    const dlq = queueUrl("SessionExpiryDlq");
    await documents().send(
      new PutCommand({ TableName: tableName("Directory"), Item: { pk: "TEST#restart", sk: "#", value: 42 } }),
    );
    for (let i = 0; i < 3; i++) {
      await sqs().send(new SendMessageCommand({ QueueUrl: dlq, MessageBody: JSON.stringify({ i }) }));
    }
    // One message received (in flight) when the hub stops: it must come back, not vanish.
    const inFlight = await sqs().send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 1, VisibilityTimeout: 600 }),
    );
    expect(inFlight.Messages).toHaveLength(1);
    await first.stop(false);

    second = await startTestHub({ dataDir: first.dataDir });
    const item = await documents().send(
      new GetCommand({ TableName: tableName("Directory"), Key: { pk: "TEST#restart", sk: "#" } }),
    );
    expect(item.Item?.value).toBe(42);
    const attrs = await sqs().send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl("SessionExpiryDlq"),
        AttributeNames: ["ApproximateNumberOfMessages"],
      }),
    );
    expect(Number(attrs.Attributes?.ApproximateNumberOfMessages)).toBe(3);
    const bodies: number[] = [];
    for (let attempt = 0; attempt < 5 && bodies.length < 3; attempt++) {
      const got = await sqs().send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl("SessionExpiryDlq"),
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
        }),
      );
      for (const m of got.Messages ?? []) bodies.push((JSON.parse(m.Body ?? "{}") as { i: number }).i);
    }
    expect(bodies.sort()).toEqual([0, 1, 2]);
  });

  it("names the port and the variable when a port is taken", async () => {
    const { createServer } = await import("node:net");
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", () => r()));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startTestHub({ overrides: { httpPort: port } })).rejects.toThrow(
        new RegExp(`port ${port} .*RELAIS_HTTP_PORT`),
      );
    } finally {
      blocker.close();
    }
  });
});
