import { xml } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import { DEFAULT_CONFIG, type NodeConfig } from "../../shared/pubsub/config";
import { isFailure, PUBSUB_FAILURES, pubsubErrorReply } from "../../shared/pubsub/errors";
import {
  type Affiliation,
  changeAffiliations,
  mayCreate,
  mayDiscover,
  mayOwn,
  mayPublish,
  mayRetrieve,
  nodeIdProblem,
  type RequesterFacts,
  subscribeOutcome,
  subscriberJid,
} from "../../shared/pubsub/rules";

const node = (accessModel: NodeConfig["accessModel"]): NodeConfig => ({ ...DEFAULT_CONFIG, accessModel });
const facts = (f: Partial<RequesterFacts> = {}): RequesterFacts => ({
  affiliation: "none",
  presenceSubscribed: false,
  sameTenant: true,
  ...f,
});
const failureOf = (x: unknown) => (isFailure(x) ? x.failure : x);

describe("node ids", () => {
  it("accepts Quoalise identifiers as they are", () => {
    expect(nodeIdProblem("urn:dev:prm:30001610071843_consumption/power/active/raw")).toBeUndefined();
  });
  it("requires an id and refuses control characters and overlong ids", () => {
    expect(failureOf(nodeIdProblem(undefined))).toBe("nodeid-required");
    expect(failureOf(nodeIdProblem(""))).toBe("nodeid-required");
    expect(failureOf(nodeIdProblem("a\nb"))).toBe("invalid-node-id");
    expect(failureOf(nodeIdProblem("x".repeat(1024)))).toBe("invalid-node-id");
  });
});

describe("subscribe outcome per access model", () => {
  it("open: subscribed, across tenants too", () => {
    expect(subscribeOutcome(node("open"), facts())).toEqual({ state: "subscribed" });
    expect(subscribeOutcome(node("open"), facts({ sameTenant: false }))).toEqual({ state: "subscribed" });
  });
  it("presence: needs the owner's presence, and the same tenant", () => {
    expect(failureOf(subscribeOutcome(node("presence"), facts()))).toBe("presence-subscription-required");
    expect(subscribeOutcome(node("presence"), facts({ presenceSubscribed: true }))).toEqual({
      state: "subscribed",
    });
    expect(
      failureOf(subscribeOutcome(node("presence"), facts({ presenceSubscribed: true, sameTenant: false }))),
    ).toBe("closed-node");
  });
  it("whitelist: members (and publishers, owners) only", () => {
    expect(failureOf(subscribeOutcome(node("whitelist"), facts()))).toBe("closed-node");
    for (const affiliation of ["member", "publisher", "owner"] as Affiliation[]) {
      expect(subscribeOutcome(node("whitelist"), facts({ affiliation, sameTenant: false }))).toEqual({
        state: "subscribed",
      });
    }
  });
  it("authorize: pending, and a second request while pending is refused", () => {
    expect(subscribeOutcome(node("authorize"), facts())).toEqual({ state: "pending" });
    expect(subscribeOutcome(node("authorize"), facts({ sameTenant: false }))).toEqual({ state: "pending" });
    expect(failureOf(subscribeOutcome(node("authorize"), facts({ subscription: "pending" })))).toBe(
      "pending-subscription",
    );
  });
  it("an outcast is refused under every model", () => {
    for (const m of ["open", "presence", "whitelist", "authorize"] as const) {
      expect(failureOf(subscribeOutcome(node(m), facts({ affiliation: "outcast" })))).toBe("outcast");
    }
  });
});

describe("retrieving items", () => {
  it("follows the access model for those without affiliation", () => {
    expect(mayRetrieve(node("open"), facts({ sameTenant: false }))).toBeUndefined();
    expect(failureOf(mayRetrieve(node("presence"), facts()))).toBe("presence-subscription-required");
    expect(mayRetrieve(node("presence"), facts({ presenceSubscribed: true }))).toBeUndefined();
    expect(failureOf(mayRetrieve(node("authorize"), facts({ subscription: "pending" })))).toBe(
      "not-subscribed-authorize",
    );
    expect(mayRetrieve(node("authorize"), facts({ subscription: "subscribed" }))).toBeUndefined();
    expect(failureOf(mayRetrieve(node("whitelist"), facts()))).toBe("closed-node");
    expect(mayRetrieve(node("whitelist"), facts({ affiliation: "member" }))).toBeUndefined();
    expect(failureOf(mayRetrieve(node("open"), facts({ affiliation: "outcast" })))).toBe("outcast");
  });
});

describe("discovery", () => {
  it("lists open nodes to all, presence nodes to the tenant, others to the affiliated", () => {
    expect(mayDiscover(node("open"), facts({ sameTenant: false }))).toBe(true);
    expect(mayDiscover(node("presence"), facts())).toBe(true);
    expect(mayDiscover(node("presence"), facts({ sameTenant: false }))).toBe(false);
    expect(mayDiscover(node("whitelist"), facts())).toBe(false);
    expect(mayDiscover(node("whitelist"), facts({ affiliation: "member" }))).toBe(true);
    expect(mayDiscover(node("authorize"), facts())).toBe(false);
    expect(mayDiscover(node("authorize"), facts({ subscription: "subscribed" }))).toBe(true);
    expect(mayDiscover(node("open"), facts({ affiliation: "outcast" }))).toBe(false);
  });
});

describe("roles", () => {
  it("owners and publishers publish; owners own; the tenant's accounts create", () => {
    expect(mayPublish({ affiliation: "owner" })).toBeUndefined();
    expect(mayPublish({ affiliation: "publisher" })).toBeUndefined();
    expect(failureOf(mayPublish({ affiliation: "member" }))).toBe("not-publisher");
    expect(failureOf(mayOwn({ affiliation: "publisher" }))).toBe("not-owner");
    expect(mayCreate(true)).toBeUndefined();
    expect(failureOf(mayCreate(false))).toBe("not-owner");
  });
  it("affiliation changes keep at least one owner; none removes", () => {
    const before = new Map<string, Affiliation>([
      ["o@a.test", "owner"],
      ["p@a.test", "publisher"],
    ]);
    const after = changeAffiliations(before, [
      { jid: "p@a.test", affiliation: "none" },
      { jid: "m@b.test", affiliation: "member" },
    ]);
    expect(after).toEqual(
      new Map([
        ["o@a.test", "owner"],
        ["m@b.test", "member"],
      ]),
    );
    expect(failureOf(changeAffiliations(before, [{ jid: "o@a.test", affiliation: "none" }]))).toBe(
      "last-owner",
    );
  });
});

describe("subscriber JID", () => {
  it("is the requester's own bare or full JID, normalised", () => {
    expect(subscriberJid("bob@a.test", "Bob@A.test")).toBe("bob@a.test");
    expect(subscriberJid("bob@a.test", "bob@a.test/phone")).toBe("bob@a.test/phone");
    expect(failureOf(subscriberJid("bob@a.test", "eve@a.test"))).toBe("invalid-jid");
    expect(failureOf(subscriberJid("bob@a.test", undefined))).toBe("invalid-jid");
  });
});

describe("error registry", () => {
  it("gives the stanza condition and the pubsub#errors element", () => {
    const iq = xml("iq", { type: "set", id: "1", from: "bob@a.test/x", to: "pubsub.a.test" });
    const reply = pubsubErrorReply(iq, { failure: "invalid-payload", text: "record 0: field 'v': bad" });
    const error = reply.getChild("error");
    expect(error?.attrs.type).toBe("modify");
    expect(error?.getChild("bad-request", "urn:ietf:params:xml:ns:xmpp-stanzas")).toBeDefined();
    expect(error?.getChild("invalid-payload", "http://jabber.org/protocol/pubsub#errors")).toBeDefined();
    expect(error?.getChildText("text")).toBe("record 0: field 'v': bad");
    const unsupported = pubsubErrorReply(iq, { failure: "unsupported", feature: "publish-options" });
    expect(unsupported.getChild("error")?.getChild("unsupported")?.attrs.feature).toBe("publish-options");
    expect(Object.keys(PUBSUB_FAILURES).length).toBeGreaterThan(20);
  });
});
