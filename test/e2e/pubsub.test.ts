import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documents } from "../../shared/aws/clients";
import { tableName } from "../../shared/aws/resources";
import { applyRosterChanges } from "../../shared/directory/rosters";
import * as store from "../../shared/pubsub/store";
import { startTestHub, type TestHub } from "../support/hub";
import { connectClient, waitFor, xml } from "../support/xmpp-client";

// XEP-0060 on each tenant's service pubsub.<domain>, with @xmpp/client against the local hub. Two domains,
// two tenants. Notification delivery is the fan-out pipeline's; here only its start is checked (a
// subscriber gets the event of a publish).

const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
const NS_OWNER = "http://jabber.org/protocol/pubsub#owner";
const NS_ERRORS = "http://jabber.org/protocol/pubsub#errors";
const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
const NS_DATA = "jabber:x:data";
const NS_SENML = "urn:ietf:params:xml:ns:senml";
const SERVICE = "pubsub.a.test";
const QUOALISE = "urn:dev:prm:30001610071843_consumption/power/active/raw";

type Conn = Awaited<ReturnType<typeof connectClient>>;

type User = Conn & { jid: string };

let t: TestHub;
const open: Conn[] = [];
// Logins cost about a second each: the file shares five accounts, and each test works on nodes of its own.
// alice owns the nodes; bob and eve are of her tenant (a.test), carol and dave of another (b.test).
let alice: User;
let bob: User;
let eve: User;
let carol: User;
let dave: User;

beforeAll(async () => {
  t = await startTestHub({ domains: ["a.test", "b.test"] });
  [alice, bob, eve, carol, dave] = await Promise.all([
    login("alice@a.test"),
    login("bob@a.test"),
    login("eve@a.test"),
    login("carol@b.test"),
    login("dave@b.test"),
  ]);
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.xmpp.stop().catch(() => {})));
  await t?.stop();
});

/** A new account, logged in and available (stanzas of type normal to an unavailable account go offline). */
async function login(jid: string): Promise<User> {
  const acct = await t.account(jid);
  const c = await connectClient({ service: t.wsUrl, ...acct });
  open.push(c);
  await c.xmpp.send(xml("presence"));
  return { ...c, jid: acct.jid };
}

let ids = 0;
async function iq(c: Conn, type: "get" | "set", payload: Element, to = SERVICE): Promise<Element> {
  const id = `ps${++ids}`;
  await c.xmpp.send(xml("iq", { type, to, id }, payload));
  return waitFor(c.inbox, (s) => s.is("iq") && s.attrs.id === id);
}

/** "condition/app-condition: text" of an error reply, or "result". */
function outcome(reply: Element): string {
  if (reply.attrs.type === "result") return "result";
  const error = reply.getChild("error");
  const condition = error
    ?.getChildElements()
    .find((e) => e.getNS() === NS_STANZAS && e.name !== "text")?.name;
  const app = error?.getChildElements().find((e) => e.getNS() === NS_ERRORS)?.name;
  const text = error?.getChildText("text", NS_STANZAS);
  return `${condition}${app ? `/${app}` : ""}${text ? `: ${text}` : ""}`;
}
const conditionOf = (reply: Element) => outcome(reply).split(/[/:]/)[0];

const form = (formType: string, fields: Record<string, string | string[]>) =>
  xml(
    "x",
    { xmlns: NS_DATA, type: "submit" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, formType)),
    ...Object.entries(fields).map(([v, vals]) =>
      xml("field", { var: v }, ...(Array.isArray(vals) ? vals : [vals]).map((x) => xml("value", {}, x))),
    ),
  );
const nodeConfig = (fields: Record<string, string | string[]>) =>
  form("http://jabber.org/protocol/pubsub#node_config", fields);

async function createNode(c: Conn, node: string, fields: Record<string, string | string[]> = {}) {
  const reply = await iq(
    c,
    "set",
    xml("pubsub", { xmlns: NS_PUBSUB }, xml("create", { node }), xml("configure", {}, nodeConfig(fields))),
  );
  expect(outcome(reply)).toBe("result");
}

const sensml = (records: Record<string, string | number>[]) =>
  xml(
    "sensml",
    { xmlns: NS_SENML },
    ...records.map((r) =>
      xml("senml", Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)]))),
    ),
  );
const publishIq = (node: string, payload: Element | Element[], id?: string) =>
  xml(
    "pubsub",
    { xmlns: NS_PUBSUB },
    xml("publish", { node }, xml("item", { id }, ...(Array.isArray(payload) ? payload : [payload]))),
  );
const power = (v: number) => sensml([{ bn: `${QUOALISE}`, bt: 1_700_000_000 + v, u: "W", v }]);

async function subscribe(c: User, node: string, jid = c.jid): Promise<Element> {
  return iq(c, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node, jid })));
}
const subscriptionOf = (reply: Element) =>
  reply.getChild("pubsub", NS_PUBSUB)?.getChild("subscription")?.attrs;

async function itemIds(c: Conn, node: string, attrs: Record<string, string> = {}, ...children: Element[]) {
  const reply = await iq(
    c,
    "get",
    xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node, ...attrs }, ...children)),
  );
  expect(outcome(reply)).toBe("result");
  return (reply.getChild("pubsub")?.getChild("items")?.getChildren("item") ?? []).map((i) => i.attrs.id);
}

describe("PubSub service discovery", () => {
  it("the server lists its PubSub service, which answers as a pubsub service", async () => {
    const u = alice;
    const items = await iq(
      u,
      "get",
      xml("query", { xmlns: "http://jabber.org/protocol/disco#items" }),
      "a.test",
    );
    expect(
      items
        .getChild("query")
        ?.getChildren("item")
        .map((i) => i.attrs.jid),
    ).toContain(SERVICE);
    const info = await iq(u, "get", xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }));
    expect(info.getChild("query")?.getChild("identity")?.attrs).toMatchObject({
      category: "pubsub",
      type: "service",
    });
    const features = info
      .getChild("query")
      ?.getChildren("feature")
      .map((f) => f.attrs.var);
    expect(features).toEqual(
      expect.arrayContaining([NS_PUBSUB, `${NS_PUBSUB}#publish`, `${NS_PUBSUB}#access-authorize`]),
    );
    // The server's own disco#info is the server's, not the service's.
    const server = await iq(
      u,
      "get",
      xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }),
      "a.test",
    );
    expect(server.getChild("query")?.getChild("identity")?.attrs.category).toBe("server");
  });

  it("a service of a domain not hosted here is not found", async () => {
    const u = bob;
    const reply = await iq(
      u,
      "get",
      xml("query", { xmlns: "http://jabber.org/protocol/disco#info" }),
      "pubsub.elsewhere.test",
    );
    expect(conditionOf(reply)).toBe("remote-server-not-found");
  });

  it("disco#items lists the nodes each requester may see; disco#info on a node gives its metadata", async () => {
    const owner = alice;
    const tag = `list-${Date.now()}`;
    await createNode(owner, `${tag}/open`, { "pubsub#title": "Open stream" });
    await createNode(owner, `${tag}/presence`, { "pubsub#access_model": "presence" });
    await createNode(owner, `${tag}/whitelist`, { "pubsub#access_model": "whitelist" });
    await createNode(owner, `${tag}/authorize`, { "pubsub#access_model": "authorize" });
    const member = carol;
    await iq(
      owner,
      "set",
      xml(
        "pubsub",
        { xmlns: NS_OWNER },
        xml(
          "affiliations",
          { node: `${tag}/whitelist` },
          xml("affiliation", { jid: member.jid, affiliation: "member" }),
        ),
      ),
    );
    const local = bob;
    const foreign = dave;
    const listed = async (c: Conn) => {
      const r = await iq(c, "get", xml("query", { xmlns: "http://jabber.org/protocol/disco#items" }));
      return (r.getChild("query")?.getChildren("item") ?? [])
        .map((i) => String(i.attrs.node))
        .filter((n) => n.startsWith(tag))
        .sort();
    };
    expect(await listed(owner)).toEqual([
      `${tag}/authorize`,
      `${tag}/open`,
      `${tag}/presence`,
      `${tag}/whitelist`,
    ]);
    expect(await listed(local)).toEqual([`${tag}/open`, `${tag}/presence`]);
    expect(await listed(foreign)).toEqual([`${tag}/open`]);
    expect(await listed(member)).toEqual([`${tag}/open`, `${tag}/whitelist`]);

    const info = await iq(
      local,
      "get",
      xml("query", { xmlns: "http://jabber.org/protocol/disco#info", node: `${tag}/open` }),
    );
    const fields = Object.fromEntries(
      (info.getChild("query")?.getChild("x", NS_DATA)?.getChildren("field") ?? []).map((f) => [
        f.attrs.var,
        f.getChildren("value").map((v) => v.getText()),
      ]),
    );
    expect(fields.FORM_TYPE).toEqual(["http://jabber.org/protocol/pubsub#meta-data"]);
    expect(fields["pubsub#title"]).toEqual(["Open stream"]);
    expect(fields["pubsub#owner"]).toEqual([owner.jid]);
    expect(fields["{urn:relais:stream:0}senml_base_name"]).toEqual([`${tag}/open`]);
    const hidden = await iq(
      foreign,
      "get",
      xml("query", { xmlns: "http://jabber.org/protocol/disco#info", node: `${tag}/whitelist` }),
    );
    expect(conditionOf(hidden)).toBe("item-not-found");
  });
});

describe("node lifecycle", () => {
  it("creates with a configuration, shows and changes it, refuses a duplicate, deletes", async () => {
    const owner = alice;
    const other = bob;
    await createNode(owner, QUOALISE, { "pubsub#title": "Puissance active", "pubsub#max_items": "5" });
    expect(
      outcome(await iq(owner, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("create", { node: QUOALISE })))),
    ).toMatch(/^conflict/);

    const get = await iq(
      owner,
      "get",
      xml("pubsub", { xmlns: NS_OWNER }, xml("configure", { node: QUOALISE })),
    );
    const values = Object.fromEntries(
      (get.getChild("pubsub")?.getChild("configure")?.getChild("x", NS_DATA)?.getChildren("field") ?? []).map(
        (f) => [f.attrs.var, f.getChildText("value")],
      ),
    );
    expect(values).toMatchObject({
      "pubsub#title": "Puissance active",
      "pubsub#max_items": "5",
      "pubsub#access_model": "open",
      "{urn:relais:stream:0}senml_base_name": QUOALISE,
    });

    const set = (c: Conn, fields: Record<string, string | string[]>) =>
      iq(
        c,
        "set",
        xml("pubsub", { xmlns: NS_OWNER }, xml("configure", { node: QUOALISE }, nodeConfig(fields))),
      );
    expect(outcome(await set(owner, { "pubsub#title": "Power", "pubsub#item_expire": "3600" }))).toBe(
      "result",
    );
    expect(outcome(await set(owner, { "pubsub#max_items": "-1" }))).toMatch(
      /^not-acceptable: pubsub#max_items/,
    );
    expect(outcome(await set(other, { "pubsub#title": "mine" }))).toMatch(/^forbidden/);

    const info = await iq(
      owner,
      "get",
      xml("query", { xmlns: "http://jabber.org/protocol/disco#info", node: QUOALISE }),
    );
    expect(info.toString()).toContain("Power");

    expect(
      outcome(await iq(other, "set", xml("pubsub", { xmlns: NS_OWNER }, xml("delete", { node: QUOALISE })))),
    ).toMatch(/^forbidden/);
    expect(
      outcome(await iq(owner, "set", xml("pubsub", { xmlns: NS_OWNER }, xml("delete", { node: QUOALISE })))),
    ).toBe("result");
    const gone = await iq(
      owner,
      "get",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node: QUOALISE })),
    );
    expect(conditionOf(gone)).toBe("item-not-found");
  });

  it("creates an instant node; another tenant's account creates nothing here", async () => {
    const owner = alice;
    const reply = await iq(owner, "set", xml("pubsub", { xmlns: NS_PUBSUB }, xml("create")));
    expect(reply.getChild("pubsub")?.getChild("create")?.attrs.node).toMatch(/^[0-9a-f-]{36}$/);
    const foreign = dave;
    const refused = await iq(
      foreign,
      "set",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("create", { node: "x" })),
    );
    expect(conditionOf(refused)).toBe("forbidden");
  });
});

describe("publishing SenML", () => {
  it("stores a valid pack, answers with the item id, and starts the fan-out", async () => {
    const owner = alice;
    const sub = carol;
    const node = `${QUOALISE}/${Date.now()}`;
    await createNode(owner, node);
    expect(subscriptionOf(await subscribe(sub, node))?.subscription).toBe("subscribed");

    const reply = await iq(owner, "set", publishIq(node, power(1200), "first"));
    expect(outcome(reply)).toBe("result");
    expect(reply.getChild("pubsub")?.getChild("publish")?.getChild("item")?.attrs.id).toBe("first");
    const generated = await iq(owner, "set", publishIq(node, power(1300)));
    const genId = generated.getChild("pubsub")?.getChild("publish")?.getChild("item")?.attrs.id;
    expect(genId).toMatch(/^[0-9a-f-]{36}$/);

    // The fan-out pipeline (not this feature) delivers; its first event proves the job was enqueued.
    const event = await waitFor(
      sub.inbox,
      (s) => s.is("message") && s.attrs.from === SERVICE && s.toString().includes("first"),
      10_000,
    );
    expect(event.getChild("event")?.getChild("items")?.attrs.node).toBe(node);

    const stored = await iq(
      sub,
      "get",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node }, xml("item", { id: "first" }))),
    );
    const item = stored.getChild("pubsub")?.getChild("items")?.getChild("item");
    expect(item?.attrs.publisher).toBe(owner.jid);
    expect(item?.getChild("sensml", NS_SENML)?.getChild("senml")?.attrs).toMatchObject({
      bn: QUOALISE,
      u: "W",
      v: "1200",
    });
  });

  it("refuses an invalid pack with bad-request, invalid-payload and the SenML reason", async () => {
    const owner = alice;
    const node = `strict-${Date.now()}`;
    await createNode(owner, node);
    const bad = sensml([
      { bn: "urn:dev:prm:1_", n: "a", u: "W", v: 1 },
      { n: "b", u: "kwh", v: 2 },
    ]);
    expect(outcome(await iq(owner, "set", publishIq(node, bad)))).toBe(
      "bad-request/invalid-payload: record 1: field 'u': unknown unit 'kwh' (did you mean 'kWh'?); units come from the IANA SenML units registry (RFC 8428 section 12.1, RFC 8798)",
    );
    expect(outcome(await iq(owner, "set", publishIq(node, xml("data", { xmlns: "urn:example" }))))).toBe(
      `bad-request/invalid-payload: the payload must be a <sensml xmlns="${NS_SENML}"> pack (RFC 8428)`,
    );
    expect(outcome(await iq(owner, "set", publishIq(node, [power(1), power(2)])))).toMatch(
      /^bad-request\/invalid-payload/,
    );
    expect(outcome(await iq(owner, "set", publishIq(node, [])))).toMatch(/^bad-request\/payload-required/);
    const noItem = xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }));
    expect(outcome(await iq(owner, "set", noItem))).toMatch(/^bad-request\/item-required/);
    expect(outcome(await iq(owner, "set", publishIq("no-such-node", power(1))))).toMatch(/^item-not-found/);
    // Nothing was stored.
    expect(await itemIds(owner, node)).toEqual([]);
  });

  it("enforces the stream's units and base name when configured", async () => {
    const owner = alice;
    const node = `units-${Date.now()}`;
    await createNode(owner, node, {
      "{urn:relais:stream:0}units": ["W", "Wh"],
      "{urn:relais:stream:0}senml_base_name": "urn:dev:prm:1_",
    });
    expect(
      outcome(
        await iq(owner, "set", publishIq(node, sensml([{ bn: "urn:dev:prm:1_", n: "p", u: "W", v: 1 }]))),
      ),
    ).toBe("result");
    expect(
      outcome(
        await iq(owner, "set", publishIq(node, sensml([{ bn: "urn:dev:prm:1_", n: "p", u: "A", v: 1 }]))),
      ),
    ).toBe(
      "bad-request/invalid-payload: record 0: field 'u': unit \"A\" is not one of the stream's units (W, Wh)",
    );
    expect(
      outcome(await iq(owner, "set", publishIq(node, sensml([{ bn: "urn:dev:prm:2_", u: "W", v: 1 }])))),
    ).toBe(
      'bad-request/invalid-payload: record 0: field \'n\': the name "urn:dev:prm:2_" is not under the stream\'s base name "urn:dev:prm:1_"',
    );
  });

  it("only owners and publishers publish", async () => {
    const owner = alice;
    const helper = bob;
    const node = `team-${Date.now()}`;
    await createNode(owner, node);
    expect(conditionOf(await iq(helper, "set", publishIq(node, power(5))))).toBe("forbidden");
    const grant = await iq(
      owner,
      "set",
      xml(
        "pubsub",
        { xmlns: NS_OWNER },
        xml("affiliations", { node }, xml("affiliation", { jid: helper.jid, affiliation: "publisher" })),
      ),
    );
    expect(outcome(grant)).toBe("result");
    expect(outcome(await iq(helper, "set", publishIq(node, power(5))))).toBe("result");
  });
});

describe("retrieving items", () => {
  it("keeps max_items, returns the latest N in publish order, by id, and retracts", async () => {
    const owner = alice;
    const reader = dave;
    const node = `keep-${Date.now()}`;
    await createNode(owner, node, { "pubsub#max_items": "3" });
    for (const id of ["i1", "i2", "i3", "i4"]) {
      expect(outcome(await iq(owner, "set", publishIq(node, power(Number(id.slice(1))), id)))).toBe("result");
      await new Promise((r) => setTimeout(r, 5)); // distinct publish times
    }
    expect(await itemIds(reader, node)).toEqual(["i2", "i3", "i4"]);
    expect(await itemIds(reader, node, { max_items: "2" })).toEqual(["i3", "i4"]);
    expect(await itemIds(reader, node, {}, xml("item", { id: "i3" }), xml("item", { id: "i1" }))).toEqual([
      "i3",
    ]);
    const retract = xml("pubsub", { xmlns: NS_PUBSUB }, xml("retract", { node }, xml("item", { id: "i3" })));
    expect(conditionOf(await iq(reader, "set", retract))).toBe("forbidden");
    expect(outcome(await iq(owner, "set", retract))).toBe("result");
    expect(await itemIds(reader, node)).toEqual(["i2", "i4"]);
  });
});

describe("the store's reads for the fan-out", () => {
  it("listSubscribers pages through subscribed subscriptions only, in a stable order", async () => {
    const node = `pages-${Date.now()}`;
    await createNode(alice, node);
    const subscribed = Array.from({ length: 7 }, (_, i) => `s${i}@b.test`);
    for (const jid of subscribed)
      await store.putSubscription(SERVICE, node, {
        jid,
        subid: `id-${jid}`,
        state: "subscribed",
        deliver: true,
      });
    // Interleaved with what must be left out: pending, and delivery switched off.
    for (const jid of ["s3a@b.test", "s5a@b.test"])
      await store.putSubscription(SERVICE, node, { jid, subid: "p", state: "pending", deliver: true });
    await store.putSubscription(SERVICE, node, {
      jid: "s4a@b.test",
      subid: "q",
      state: "subscribed",
      deliver: false,
    });
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await store.listSubscribers(SERVICE, node, { cursor, limit: 3 });
      pages.push(page.subscribers.map((s) => s.jid));
      cursor = page.cursor;
    } while (cursor && pages.length < 10);
    expect(pages.flat()).toEqual(subscribed);
    expect(pages[0]).toHaveLength(3);
    expect(pages[1]).toHaveLength(3);
    const first = await store.listSubscribers(SERVICE, node, { limit: 3 });
    expect(first.subscribers[0]).toEqual({ jid: "s0@b.test", subid: "id-s0@b.test" });
    // A page that holds the last subscriber exactly says so: no cursor to an empty page.
    const all = await store.listSubscribers(SERVICE, node, { limit: 7 });
    expect(all.subscribers).toHaveLength(7);
    expect(all.cursor).toBeUndefined();

    expect(outcome(await iq(alice, "set", publishIq(node, power(3), "x1")))).toBe("result");
    expect(await store.getItem(SERVICE, node, "x1")).toMatchObject({
      service: SERVICE,
      node,
      itemId: "x1",
      publisher: alice.jid,
      payload: expect.stringMatching(/^<sensml xmlns="urn:ietf:params:xml:ns:senml"><senml /),
    });
    expect(await store.getItem(SERVICE, node, "nope")).toBeUndefined();
  });
});

describe("retention", () => {
  it("stamps items with expiresAt from pubsub#item_expire, and never serves an expired one", async () => {
    const node = `retention-${Date.now()}`;
    await createNode(alice, node, { "pubsub#item_expire": "600" });
    expect(outcome(await iq(alice, "set", publishIq(node, power(1), "old")))).toBe("result");
    expect(outcome(await iq(alice, "set", publishIq(node, power(2), "new")))).toBe("result");
    const key = (itemId: string) => ({ pk: `NODE#${SERVICE}#${node}`, sk: `ITEM#${itemId}` });
    const stored = await documents().send(
      new GetCommand({ TableName: tableName("Streams"), Key: key("old") }),
    );
    const now = Math.floor(Date.now() / 1000);
    expect(stored.Item?.expiresAt).toBeGreaterThan(now + 590);
    expect(stored.Item?.expiresAt).toBeLessThanOrEqual(now + 600);
    // DynamoDB deletes expired items lazily (DynamoDB Local never does): reads must skip them.
    await documents().send(
      new UpdateCommand({
        TableName: tableName("Streams"),
        Key: key("old"),
        UpdateExpression: "SET expiresAt = :past",
        ExpressionAttributeValues: { ":past": now - 1 },
      }),
    );
    expect(await itemIds(bob, node)).toEqual(["new"]);
    expect(await itemIds(bob, node, {}, xml("item", { id: "old" }))).toEqual([]);
  });
});

describe("subscriptions under each access model", () => {
  it("open: anyone subscribes, to the bare or own full JID only; unsubscribe; options", async () => {
    const owner = alice;
    const node = `open-${Date.now()}`;
    await createNode(owner, node);
    const foreign = carol;
    const full = foreign.xmpp.jid?.toString() ?? "";
    const sub = subscriptionOf(await subscribe(foreign, node, full));
    expect(sub).toMatchObject({ node, jid: full, subscription: "subscribed" });
    expect(sub?.subid).toBeTruthy();
    expect(outcome(await subscribe(foreign, node, owner.jid))).toMatch(/^bad-request\/invalid-jid/);

    const optionsGet = await iq(
      foreign,
      "get",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("options", { node, jid: full })),
    );
    expect(optionsGet.toString()).toContain("pubsub#deliver");
    const optionsSet = await iq(
      foreign,
      "set",
      xml(
        "pubsub",
        { xmlns: NS_PUBSUB },
        xml(
          "options",
          { node, jid: full },
          form("http://jabber.org/protocol/pubsub#subscribe_options", { "pubsub#deliver": "false" }),
        ),
      ),
    );
    expect(outcome(optionsSet)).toBe("result");
    const after = await iq(
      foreign,
      "get",
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("options", { node, jid: full })),
    );
    expect(
      after
        .getChild("pubsub")
        ?.getChild("options")
        ?.getChild("x")
        ?.getChildren("field")[1]
        ?.getChildText("value"),
    ).toBe("false");

    const unsub = xml("pubsub", { xmlns: NS_PUBSUB }, xml("unsubscribe", { node, jid: full }));
    expect(outcome(await iq(foreign, "set", unsub))).toBe("result");
    expect(outcome(await iq(foreign, "set", unsub))).toMatch(/^unexpected-request\/not-subscribed/);
  });

  it("presence: needs a presence subscription to the owner, within the tenant", async () => {
    const owner = alice;
    const friend = bob;
    const foreign = dave;
    const node = `presence-${Date.now()}`;
    await createNode(owner, node, { "pubsub#access_model": "presence" });
    expect(outcome(await subscribe(friend, node))).toMatch(/^not-authorized\/presence-subscription-required/);
    expect(
      conditionOf(await iq(friend, "get", xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node })))),
    ).toBe("not-authorized");
    // The owner's roster sends its presence to the friend (subscription "from"), as after an approved request.
    for (const jid of [friend.jid, foreign.jid]) {
      await applyRosterChanges(owner.jid, [{ kind: "put", item: { jid, groups: [], subscription: "from" } }]);
    }
    expect(subscriptionOf(await subscribe(friend, node))?.subscription).toBe("subscribed");
    expect(outcome(await subscribe(foreign, node))).toMatch(/^not-allowed\/closed-node/);
  });

  it("whitelist: members only, another tenant's member included", async () => {
    const owner = alice;
    const outsider = bob;
    const member = carol;
    const node = `whitelist-${Date.now()}`;
    await createNode(owner, node, { "pubsub#access_model": "whitelist" });
    expect(outcome(await subscribe(outsider, node))).toMatch(/^not-allowed\/closed-node/);
    expect(outcome(await subscribe(member, node))).toMatch(/^not-allowed\/closed-node/);
    await iq(
      owner,
      "set",
      xml(
        "pubsub",
        { xmlns: NS_OWNER },
        xml("affiliations", { node }, xml("affiliation", { jid: member.jid, affiliation: "member" })),
      ),
    );
    expect(subscriptionOf(await subscribe(member, node))?.subscription).toBe("subscribed");
    expect(await itemIds(member, node)).toEqual([]);
    expect(
      conditionOf(await iq(outsider, "get", xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node })))),
    ).toBe("not-allowed");
  });

  it("authorize: pending until the owner approves by the form, or by managing subscriptions", async () => {
    const owner = alice;
    const asker = dave;
    const second = bob;
    const node = `authorize-${Date.now()}`;
    await createNode(owner, node, { "pubsub#access_model": "authorize" });

    const pending = subscriptionOf(await subscribe(asker, node));
    expect(pending?.subscription).toBe("pending");
    expect(outcome(await subscribe(asker, node))).toMatch(/^not-authorized\/pending-subscription/);
    expect(
      outcome(await iq(asker, "get", xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node })))),
    ).toMatch(/^not-authorized\/not-subscribed/);

    // XEP-0060 8.6: the owner gets the authorization form and submits it.
    const request = await waitFor(
      owner.inbox,
      (s) =>
        s.is("message") &&
        s.attrs.from === SERVICE &&
        s.toString().includes(asker.jid) &&
        s.toString().includes(node),
    );
    const fields = Object.fromEntries(
      (request.getChild("x", NS_DATA)?.getChildren("field") ?? []).map((f) => [
        f.attrs.var,
        f.getChildText("value"),
      ]),
    );
    expect(fields).toMatchObject({
      FORM_TYPE: "http://jabber.org/protocol/pubsub#subscribe_authorization",
      "pubsub#node": node,
      "pubsub#subscriber_jid": asker.jid,
      "pubsub#subid": pending?.subid,
    });
    await owner.xmpp.send(
      xml(
        "message",
        { to: SERVICE },
        form("http://jabber.org/protocol/pubsub#subscribe_authorization", {
          "pubsub#subid": String(fields["pubsub#subid"]),
          "pubsub#node": node,
          "pubsub#subscriber_jid": asker.jid,
          "pubsub#allow": "true",
        }),
      ),
    );
    const approved = await waitFor(
      asker.inbox,
      (s) =>
        s.is("message") &&
        s.attrs.from === SERVICE &&
        s.getChild("event")?.getChild("subscription")?.attrs.node === node,
    );
    expect(approved.getChild("event")?.getChild("subscription")?.attrs).toMatchObject({
      node,
      subscription: "subscribed",
    });
    expect(await itemIds(asker, node)).toEqual([]);

    // The owner's manage-subscriptions use case approves the other pending request.
    expect(subscriptionOf(await subscribe(second, node))?.subscription).toBe("pending");
    const list = await iq(owner, "get", xml("pubsub", { xmlns: NS_OWNER }, xml("subscriptions", { node })));
    const states = Object.fromEntries(
      (list.getChild("pubsub")?.getChild("subscriptions")?.getChildren("subscription") ?? []).map((s) => [
        s.attrs.jid,
        s.attrs.subscription,
      ]),
    );
    expect(states).toEqual({ [asker.jid]: "subscribed", [second.jid]: "pending" });
    const approve = await iq(
      owner,
      "set",
      xml(
        "pubsub",
        { xmlns: NS_OWNER },
        xml("subscriptions", { node }, xml("subscription", { jid: second.jid, subscription: "subscribed" })),
      ),
    );
    expect(outcome(approve)).toBe("result");
    expect(await itemIds(second, node)).toEqual([]);
    expect(
      conditionOf(await iq(asker, "get", xml("pubsub", { xmlns: NS_OWNER }, xml("subscriptions", { node })))),
    ).toBe("forbidden");
  });
});

describe("affiliations", () => {
  it("the owner lists and changes them; an outcast is shut out; the last owner stays", async () => {
    const owner = alice;
    const banned = eve;
    const node = `aff-${Date.now()}`;
    await createNode(owner, node);
    expect(subscriptionOf(await subscribe(banned, node))?.subscription).toBe("subscribed");
    const set = (affiliation: string, jid: string) =>
      iq(
        owner,
        "set",
        xml(
          "pubsub",
          { xmlns: NS_OWNER },
          xml("affiliations", { node }, xml("affiliation", { jid, affiliation })),
        ),
      );
    expect(outcome(await set("outcast", banned.jid))).toBe("result");
    const list = await iq(owner, "get", xml("pubsub", { xmlns: NS_OWNER }, xml("affiliations", { node })));
    const affs = Object.fromEntries(
      (list.getChild("pubsub")?.getChild("affiliations")?.getChildren("affiliation") ?? []).map((a) => [
        a.attrs.jid,
        a.attrs.affiliation,
      ]),
    );
    expect(affs).toEqual({ [owner.jid]: "owner", [banned.jid]: "outcast" });
    expect(conditionOf(await subscribe(banned, node))).toBe("forbidden");
    expect(
      conditionOf(await iq(banned, "get", xml("pubsub", { xmlns: NS_PUBSUB }, xml("items", { node })))),
    ).toBe("forbidden");
    const subs = await iq(owner, "get", xml("pubsub", { xmlns: NS_OWNER }, xml("subscriptions", { node })));
    expect(subs.getChild("pubsub")?.getChild("subscriptions")?.getChildren("subscription")).toEqual([]);
    expect(outcome(await set("none", owner.jid))).toMatch(
      /^not-acceptable: the node would be left without an owner/,
    );
    // The requester's own affiliations on this service.
    const mine = await iq(banned, "get", xml("pubsub", { xmlns: NS_PUBSUB }, xml("affiliations")));
    expect(
      mine
        .getChild("pubsub")
        ?.getChild("affiliations")
        ?.getChildren("affiliation")
        .map((a) => a.attrs),
    ).toEqual([{ node, affiliation: "outcast" }]);
  });
});
