// RFC 6121 2.1.3 (get), 2.3 (add), 2.4 (update), 2.5 (delete), 2.6 (versioning) and their error cases,
// walked on the RFC's example roster of juliet@example.com.
import { describe, expect, it } from "vitest";
import type { RosterItem } from "../../shared/xmpp/roster/items";
import { handleRosterIq } from "../../shared/xmpp/roster/roster-iq";
import { counterIds, expectXml, stanza } from "./roster-fixtures";

const juliet = "juliet@example.com";
const roster: RosterItem[] = [
  { jid: "romeo@example.net", name: "Romeo", subscription: "both", groups: ["Friends"] },
  { jid: "mercutio@example.com", name: "Mercutio", subscription: "from", groups: [] },
  { jid: "benvolio@example.net", name: "Benvolio", subscription: "both", groups: [] },
];

function iq(xmlText: string, items: RosterItem[] = roster, rosterVersion?: number) {
  return handleRosterIq({ iq: stanza(xmlText), user: juliet, items, newId: counterIds(), rosterVersion });
}

function errorCondition(reply: {
  getChild(n: string): { getChildElements(): { name: string }[] } | undefined;
}) {
  return reply.getChild("error")?.getChildElements()[0]?.name;
}

describe("roster get (RFC 6121 2.1.3)", () => {
  it("returns every item, as in the RFC example", () => {
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='bv1bs71f' type='get'><query xmlns='jabber:iq:roster'/></iq>",
    );
    expectXml(
      r.reply,
      `<iq id='bv1bs71f' to='juliet@example.com/balcony' type='result'><query xmlns='jabber:iq:roster'>
<item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item>
<item jid='mercutio@example.com' name='Mercutio' subscription='from'/>
<item jid='benvolio@example.net' name='Benvolio' subscription='both'/>
</query></iq>`.replaceAll("\n", ""),
    );
    expect(r.changes).toEqual([]);
    expect(r.pushes).toEqual([]);
  });

  it("returns an empty query for an empty roster (2.1.4)", () => {
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='g1' type='get'><query xmlns='jabber:iq:roster'/></iq>",
      [],
    );
    expectXml(
      r.reply,
      "<iq id='g1' to='juliet@example.com/balcony' type='result'><query xmlns='jabber:iq:roster'/></iq>",
    );
  });

  it("leaves out records of requests from people Juliet never added (3.1.3)", () => {
    const items: RosterItem[] = [
      { jid: "tybalt@example.com", subscription: "none", groups: [], pendingIn: true, pendingOnly: true },
    ];
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='g2' type='get'><query xmlns='jabber:iq:roster'/></iq>",
      items,
    );
    expectXml(
      r.reply,
      "<iq id='g2' to='juliet@example.com/balcony' type='result'><query xmlns='jabber:iq:roster'/></iq>",
    );
  });

  it("answers from the address the iq was sent to", () => {
    const r = iq(
      "<iq from='juliet@example.com/balcony' to='juliet@example.com' id='g3' type='get'><query xmlns='jabber:iq:roster'/></iq>",
      [],
    );
    expect(r.reply.attrs.from).toBe("juliet@example.com");
  });
});

describe("roster versioning (RFC 6121 2.6)", () => {
  const get = (ver: string) =>
    `<iq from='juliet@example.com/balcony' id='r1h3vzp7' type='get'><query xmlns='jabber:iq:roster' ver='${ver}'/></iq>`;

  it("returns the whole roster with 'ver' when the client's version is not current (2.6.3)", () => {
    const r = iq(get("3"), roster, 5);
    expect(r.reply.getChild("query")?.attrs.ver).toBe("5");
    expect(r.reply.getChild("query")?.getChildren("item")).toHaveLength(3);
    expect(r.rosterVersion).toBe(5);
  });

  it("returns the whole roster to a client that sends an empty 'ver' (first login, 2.6.3)", () => {
    const r = iq(get(""), roster, 5);
    expect(r.reply.getChild("query")?.getChildren("item")).toHaveLength(3);
  });

  it("returns an empty result when the client already has the current version (2.6.3)", () => {
    const r = iq(get("5"), roster, 5);
    expectXml(r.reply, "<iq id='r1h3vzp7' to='juliet@example.com/balcony' type='result'/>");
  });

  it("bumps the version on a set and puts it on the push (2.6.2)", () => {
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='s1' type='set'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>",
      roster,
      5,
    );
    expect(r.rosterVersion).toBe(6);
    expect(r.pushes[0]?.getChild("query")?.attrs.ver).toBe("6");
  });

  it("leaves 'ver' out entirely when versioning is off", () => {
    const r = iq(get("3"));
    expect(r.reply.getChild("query")?.attrs.ver).toBeUndefined();
    expect(r.rosterVersion).toBeUndefined();
  });
});

describe("roster set: add and update (RFC 6121 2.3, 2.4)", () => {
  it("adds the nurse, replies with an empty result and pushes the new item (2.3.2)", () => {
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='rs1' type='set'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>",
    );
    expectXml(r.reply, "<iq id='rs1' to='juliet@example.com/balcony' type='result'/>");
    expect(r.changes).toEqual([
      { kind: "put", item: { jid: "nurse@example.com", subscription: "none", groups: [] } },
    ]);
    expect(r.pushes).toHaveLength(1);
    expectXml(
      r.pushes[0],
      "<iq id='push-1' type='set'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='none'/></query></iq>",
    );
    expect(r.outbound).toEqual([]);
  });

  it("updates Romeo's name and groups, keeping the subscription (2.4)", () => {
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='um1' type='set'><query xmlns='jabber:iq:roster'><item jid='romeo@example.net' name='Romeo'><group>Friends</group><group>Lovers</group></item></query></iq>",
    );
    expect(r.changes).toEqual([
      {
        kind: "put",
        item: {
          jid: "romeo@example.net",
          name: "Romeo",
          subscription: "both",
          groups: ["Friends", "Lovers"],
        },
      },
    ]);
    expectXml(
      r.pushes[0],
      "<iq id='push-1' type='set'><query xmlns='jabber:iq:roster'><item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group><group>Lovers</group></item></query></iq>",
    );
  });

  it("removes the name and groups an update leaves out", () => {
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='um2' type='set'><query xmlns='jabber:iq:roster'><item jid='romeo@example.net'/></query></iq>",
    );
    expect(r.changes).toEqual([
      { kind: "put", item: { jid: "romeo@example.net", subscription: "both", groups: [] } },
    ]);
  });

  it("ignores a client's attempt to set the subscription (2.1.2.5)", () => {
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='um3' type='set'><query xmlns='jabber:iq:roster'><item jid='mercutio@example.com' subscription='both' ask='subscribe'/></query></iq>",
    );
    expect(r.changes).toEqual([
      { kind: "put", item: { jid: "mercutio@example.com", subscription: "from", groups: [] } },
    ]);
  });

  it("turns a pending-only record into a roster item, keeping the pending request", () => {
    const items: RosterItem[] = [
      {
        jid: "romeo@example.net",
        subscription: "none",
        groups: [],
        pendingIn: true,
        pendingInStanza: "<presence from='romeo@example.net' type='subscribe'/>",
        pendingOnly: true,
      },
    ];
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='a1' type='set'><query xmlns='jabber:iq:roster'><item jid='romeo@example.net' name='Romeo'/></query></iq>",
      items,
    );
    expect(r.changes).toEqual([
      {
        kind: "put",
        item: {
          jid: "romeo@example.net",
          name: "Romeo",
          subscription: "none",
          groups: [],
          pendingIn: true,
          pendingInStanza: "<presence from='romeo@example.net' type='subscribe'/>",
        },
      },
    ]);
  });
});

describe("roster set: delete (RFC 6121 2.5)", () => {
  it("removes the nurse, pushes subscription='remove' and sends no presence when there was no subscription", () => {
    const items: RosterItem[] = [
      { jid: "nurse@example.com", name: "Nurse", subscription: "none", groups: [] },
    ];
    const r = iq(
      "<iq from='juliet@example.com/balcony' id='hm4hs97y' type='set'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query></iq>",
      items,
    );
    expectXml(r.reply, "<iq id='hm4hs97y' to='juliet@example.com/balcony' type='result'/>");
    expect(r.changes).toEqual([{ kind: "delete", jid: "nurse@example.com" }]);
    expectXml(
      r.pushes[0],
      "<iq id='push-1' type='set'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query></iq>",
    );
    expect(r.outbound).toEqual([]);
  });

  it.each([
    ["both", {}, ["unsubscribe", "unsubscribed"]],
    ["to", {}, ["unsubscribe"]],
    ["from", {}, ["unsubscribed"]],
    ["none", { ask: "subscribe" as const }, ["unsubscribe"]],
    ["none", { pendingIn: true }, ["unsubscribed"]],
    ["from", { ask: "subscribe" as const }, ["unsubscribe", "unsubscribed"]],
  ] as const)(
    "removing an item with subscription '%s' %o sends %o from Juliet's bare JID (2.5.2)",
    (subscription, extra, types) => {
      const items: RosterItem[] = [{ jid: "romeo@example.net", subscription, groups: [], ...extra }];
      const r = iq(
        "<iq from='juliet@example.com/balcony' id='d1' type='set'><query xmlns='jabber:iq:roster'><item jid='romeo@example.net' subscription='remove'/></query></iq>",
        items,
      );
      expect(r.outbound.map((p) => p.attrs.type)).toEqual(types);
      for (const p of r.outbound) {
        expect(p.attrs.from).toBe("juliet@example.com");
        expect(p.attrs.to).toBe("romeo@example.net");
        expect(p.name).toBe("presence");
      }
    },
  );
});

describe("roster iq errors (RFC 6121 2.3.3, 2.5.3)", () => {
  const set = (itemsXml: string, from = "juliet@example.com/balcony") =>
    `<iq from='${from}' id='e1' type='set'><query xmlns='jabber:iq:roster'>${itemsXml}</query></iq>`;

  it("refuses a set from another entity with forbidden (2.3.3 example: Juliet setting Romeo's roster)", () => {
    const r = handleRosterIq({
      iq: stanza(
        "<iq from='juliet@example.com/balcony' id='ix7s53v2' to='romeo@example.net' type='set'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query></iq>",
      ),
      user: "romeo@example.net",
      items: [],
    });
    expect(r.reply.attrs).toMatchObject({ type: "error", id: "ix7s53v2", to: "juliet@example.com/balcony" });
    expect(errorCondition(r.reply)).toBe("forbidden");
    expect(r.reply.getChild("error")?.attrs.type).toBe("auth");
    expect(r.changes).toEqual([]);
    expect(r.pushes).toEqual([]);
  });

  it("refuses a get from another entity with forbidden too", () => {
    const r = iq(
      "<iq from='romeo@example.net/orchard' id='g' type='get'><query xmlns='jabber:iq:roster'/></iq>",
    );
    expect(errorCondition(r.reply)).toBe("forbidden");
  });

  it("refuses a set with no item or two items with bad-request", () => {
    expect(errorCondition(iq(set("")).reply)).toBe("bad-request");
    const two = iq(set("<item jid='nurse@example.com'/><item jid='mercutio@example.com'/>"));
    expect(errorCondition(two.reply)).toBe("bad-request");
    expect(two.reply.getChild("error")?.attrs.type).toBe("modify");
  });

  it("refuses duplicate groups with bad-request and an empty group with not-acceptable", () => {
    const dup = iq(
      set("<item jid='nurse@example.com' name='Nurse'><group>Kitchen</group><group>Kitchen</group></item>"),
    );
    expect(errorCondition(dup.reply)).toBe("bad-request");
    const empty = iq(set("<item jid='nurse@example.com' name='Nurse'><group></group></item>"));
    expect(errorCondition(empty.reply)).toBe("not-acceptable");
    expect(empty.changes).toEqual([]);
  });

  it("refuses to remove an item that is not there with item-not-found (2.5.3)", () => {
    const r = iq(set("<item jid='nurse@example.com' subscription='remove'/>"));
    expect(errorCondition(r.reply)).toBe("item-not-found");
    expect(r.reply.getChild("error")?.attrs.type).toBe("cancel");
    expect(r.changes).toEqual([]);
  });

  it("treats a pending-only record as not in the roster when removing", () => {
    const items: RosterItem[] = [
      { jid: "tybalt@example.com", subscription: "none", groups: [], pendingIn: true, pendingOnly: true },
    ];
    expect(
      errorCondition(iq(set("<item jid='tybalt@example.com' subscription='remove'/>"), items).reply),
    ).toBe("item-not-found");
  });

  it("refuses a set without a roster query, and an item for the user's own JID", () => {
    const noQuery = iq("<iq from='juliet@example.com/balcony' id='q' type='set'/>");
    expect(errorCondition(noQuery.reply)).toBe("bad-request");
    expect(errorCondition(iq(set("<item jid='juliet@example.com'/>")).reply)).toBe("not-allowed");
  });

  it("carries a <text/> saying what was wrong", () => {
    const r = iq(set("<item jid='nurse@example.com'><group/></item>"));
    expect(r.reply.getChild("error")?.getChildText("text", "urn:ietf:params:xml:ns:xmpp-stanzas")).toMatch(
      /group/,
    );
  });

  it("throws on an iq that is not a get or a set, which must never be answered", () => {
    expect(() => iq("<iq from='juliet@example.com/balcony' id='push-1' type='result'/>")).toThrow(
      /get or a set/,
    );
  });
});
