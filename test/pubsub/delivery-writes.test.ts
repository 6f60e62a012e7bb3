import { DeleteCommand, GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documents } from "../../shared/aws/clients";
import { tableName } from "../../shared/aws/resources";
import { alreadyDelivered, type Delivered, markDelivered, markId } from "../../shared/fanout/delivered";
import { shardOf } from "../../shared/fanout/jobs";
import { enqueueEach } from "../../shared/xmpp/session/enqueue-many";
import { createSession, getSession } from "../../shared/xmpp/session/store";
import { startTestHub, type TestHub } from "../support/hub";

// The batched writes of a delivery, against DynamoDB Local: the XEP-0198 queue appends made with one
// PartiQL BatchExecuteStatement for many sessions, and the delivered-marks kept as one set per shard.

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ domains: ["writes.test"] });
});
afterAll(async () => {
  await t?.stop();
});

async function session(id: string, smQueue?: string[]): Promise<void> {
  await createSession(id, Date.now());
  if (smQueue)
    await documents().send(
      new UpdateCommand({
        TableName: tableName("Sessions"),
        Key: { connectionId: id },
        UpdateExpression: "SET smQueue = :q, smEnabled = :t",
        ExpressionAttributeValues: { ":q": smQueue, ":t": true },
      }),
    );
}

const read = async (id: string) => {
  const s = await getSession(id);
  if (!s) throw new Error(`no session ${id}`);
  return s;
};

describe("queueing stanzas for many XEP-0198 sessions at once", () => {
  it("appends to absent, empty and filled queues, several stanzas for one session in order", async () => {
    await session("q-absent");
    await session("q-empty", []);
    await session("q-two", ["<a1/>", "<a2/>"]);
    const entries = [
      { session: await read("q-absent"), stanza: "<n1/>" },
      { session: await read("q-empty"), stanza: "<n2/>" },
      { session: await read("q-two"), stanza: "<n3/>" },
      { session: await read("q-two"), stanza: "<n4/>" },
    ];
    expect(await enqueueEach(entries, 500)).toEqual([1, 1, 3, 4]);
    expect((await read("q-absent")).smQueue).toEqual(["<n1/>"]);
    expect((await read("q-empty")).smQueue).toEqual(["<n2/>"]);
    expect((await read("q-two")).smQueue).toEqual(["<a1/>", "<a2/>", "<n3/>", "<n4/>"]);
  });

  it("answers false for a session gone or full, and counts exactly what changed since it was read", async () => {
    await session("q-gone", ["<x/>"]);
    await session("q-full", ["<1/>", "<2/>"]);
    await session("q-moved", []);
    const gone = await read("q-gone");
    const full = await read("q-full");
    const moved = await read("q-moved");
    // Deleted meanwhile: nothing may create it again.
    await documents().send(
      new DeleteCommand({ TableName: tableName("Sessions"), Key: { connectionId: "q-gone" } }),
    );
    // Given a first stanza by someone else meanwhile.
    await documents().send(
      new UpdateCommand({
        TableName: tableName("Sessions"),
        Key: { connectionId: "q-moved" },
        UpdateExpression: "SET smQueue = :q",
        ExpressionAttributeValues: { ":q": ["<other/>"] },
      }),
    );
    const out = await enqueueEach(
      [
        { session: gone, stanza: "<g/>" },
        { session: full, stanza: "<f/>" },
        { session: moved, stanza: "<m/>" },
      ],
      2,
    );
    // The queue read empty got a stanza from elsewhere first: the retry alone says where this one landed.
    expect(out).toEqual([false, false, 2]);
    const missing = await documents().send(
      new GetCommand({ TableName: tableName("Sessions"), Key: { connectionId: "q-gone" } }),
    );
    expect(missing.Item).toBeUndefined();
    expect((await read("q-full")).smQueue).toEqual(["<1/>", "<2/>"]);
    expect((await read("q-moved")).smQueue).toEqual(["<other/>", "<m/>"]);
  });

  it("takes more than 25 sessions in several requests", async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `q-many-${i}`);
    for (const id of ids) await session(id, []);
    const sessions = await Promise.all(ids.map(read));
    const out = await enqueueEach(
      sessions.map((s) => ({ session: s, stanza: `<${s.connectionId}/>` })),
      500,
    );
    expect(out).toEqual(ids.map(() => 1));
    expect((await read("q-many-59")).smQueue).toEqual(["<q-many-59/>"]);
  });
});

describe("delivered-marks, a set per item and shard", () => {
  const mark = (itemId: string, jid: string): Delivered => ({
    service: "pubsub.writes.test",
    node: "marks",
    itemId,
    jid,
  });
  /** A mark item of the test stream as stored: a shard's set (sk "shard#<n>") or a spilled mark (sk the JID). */
  const markItem = async (itemId: string, sk: string) =>
    (
      await documents().send(
        new GetCommand({
          TableName: tableName("Streams"),
          Key: { pk: `DELIVERED#pubsub.writes.test#marks#${itemId}`, sk },
        }),
      )
    ).Item;
  /** `n` JIDs that fall in one shard. */
  const sameShard = (n: number, shard: number) => {
    const out: string[] = [];
    for (let i = 0; out.length < n; i++)
      if (shardOf(`m${i}@writes.test`) === shard) out.push(`m${i}@writes.test`);
    return out;
  };

  it("finds what was marked, per item, and nothing else", async () => {
    const jids = [...sameShard(3, 0), ...sameShard(2, 5)];
    await markDelivered(jids.slice(0, 4).map((j) => mark("i1", j)));
    const done = await alreadyDelivered([
      ...jids.map((j) => mark("i1", j)),
      ...jids.map((j) => mark("i2", j)),
    ]);
    expect([...done].sort()).toEqual(
      jids
        .slice(0, 4)
        .map((j) => markId("i1", j))
        .sort(),
    );
    // One item per shard touched, not one per recipient.
    const set = await markItem("i1", "shard#0");
    expect([...((set?.jids as Set<string> | undefined) ?? [])].sort()).toEqual(jids.slice(0, 3).sort());
  });

  it("spills a full shard into marks of their own, and still finds every mark", async () => {
    const jids = sameShard(7, 3);
    await markDelivered(
      jids.slice(0, 2).map((j) => mark("s1", j)),
      3,
    );
    // 2 + 2 would pass 3: these and every later mark of the shard are items of their own.
    await markDelivered(
      jids.slice(2, 4).map((j) => mark("s1", j)),
      3,
    );
    await markDelivered(
      jids.slice(4, 5).map((j) => mark("s1", j)),
      3,
    );
    const done = await alreadyDelivered(jids.map((j) => mark("s1", j)));
    expect([...done].sort()).toEqual(
      jids
        .slice(0, 5)
        .map((j) => markId("s1", j))
        .sort(),
    );
    const own = await markItem("s1", jids[4] ?? "");
    expect(own?.itemId).toBe("s1");
  });
});
