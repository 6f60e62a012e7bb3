import { createServer, type Server } from "node:http";
import { GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Context, SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvocationRecorder } from "../../bench/support/recorder";
import { countCalls, countCallsOptions } from "../../shared/aws/call-counter";

// The bench attributes the AWS calls of queue consumers to their invocation (HubHooks.wrapQueueHandler),
// as it does for WebSocket routes. A server that answers every request with a 400 stands in for SQS: the
// calls fail fast, and failed calls are counted all the same.

let server: Server;
let client: SQSClient;

beforeAll(async () => {
  server = createServer((_, res) => {
    res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
    res.end(JSON.stringify({ __type: "com.amazonaws.sqs#QueueDoesNotExist", message: "no such queue" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  client = new SQSClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "x", secretAccessKey: "x" },
    maxAttempts: 1,
  });
  client.middlewareStack.add(countCalls, countCallsOptions);
});
afterAll(async () => {
  client?.destroy();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

const call = () => client.send(new GetQueueUrlCommand({ QueueName: "nope" })).catch(() => undefined);
const event = (n: number): SQSEvent => ({
  Records: Array.from({ length: n }, (_, i) => ({ messageId: String(i) }) as SQSEvent["Records"][number]),
});

describe("InvocationRecorder.wrapQueue", () => {
  it("attributes a queue consumer's calls to its invocation, and keeps other calls apart", async () => {
    const recorder = new InvocationRecorder();
    try {
      const handler = recorder.wrapQueue("PubsubDelivery", async () => {
        await call();
        await call();
        return { batchItemFailures: [] };
      });
      await Promise.all([handler(event(3), {} as Context), call()]);
      await recorder.settle(10);
      const { invocations, outside } = recorder.snapshot();
      expect(invocations).toHaveLength(1);
      expect(invocations[0]).toMatchObject({ route: "queue", label: "PubsubDelivery", records: 3 });
      expect(invocations[0]?.calls.map((c) => `${c.service}.${c.operation}`)).toEqual([
        "SQS.GetQueueUrl",
        "SQS.GetQueueUrl",
      ]);
      expect(outside).toHaveLength(1);
    } finally {
      recorder.close();
    }
  });

  it("records a failed invocation, with the error's name, and passes the error on", async () => {
    const recorder = new InvocationRecorder();
    try {
      const handler = recorder.wrapQueue("PubsubFanout", async () => {
        await call();
        throw new RangeError("half-way");
      });
      await expect(handler(event(1), {} as Context)).rejects.toThrow("half-way");
      const [inv] = recorder.snapshot().invocations;
      expect(inv).toMatchObject({ label: "PubsubFanout", error: "RangeError" });
      expect(inv?.calls).toHaveLength(1);
    } finally {
      recorder.close();
    }
  });
});
