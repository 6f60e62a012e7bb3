// RFC 6121 2.1.2 (item syntax) and 2.3.3 (roster set rules), on the example roster of juliet@example.com.
import { describe, expect, it } from "vitest";
import {
  DEFAULT_ITEM_LIMITS,
  itemToXml,
  normaliseBareJid,
  parseItemXml,
  parseRosterSetQuery,
  type RosterItem,
  rosterPush,
  visibleItems,
} from "../../shared/xmpp/roster/items";
import { expectXml, stanza } from "./roster-fixtures";

const item = (xmlText: string) => parseItemXml(stanza(xmlText));

describe("itemToXml (RFC 6121 2.1.2)", () => {
  it("writes jid, name, subscription and groups as in the 2.1.3 roster result", () => {
    const romeo: RosterItem = {
      jid: "romeo@example.net",
      name: "Romeo",
      subscription: "both",
      groups: ["Friends"],
    };
    expectXml(
      itemToXml(romeo),
      "<item jid='romeo@example.net' name='Romeo' subscription='both'><group>Friends</group></item>",
    );
  });

  it("writes ask='subscribe' for a pending outbound request and approved='true' for a pre-approval", () => {
    expectXml(
      itemToXml({ jid: "juliet@example.com", subscription: "none", ask: "subscribe", groups: [] }),
      "<item jid='juliet@example.com' subscription='none' ask='subscribe'/>",
    );
    expectXml(
      itemToXml({ jid: "romeo@example.net", subscription: "none", approved: true, groups: [] }),
      "<item jid='romeo@example.net' subscription='none' approved='true'/>",
    );
  });

  it("never shows the pending inbound request or its stanza", () => {
    const el = itemToXml({
      jid: "romeo@example.net",
      subscription: "to",
      groups: [],
      pendingIn: true,
      pendingInStanza: "<presence from='romeo@example.net' type='subscribe'/>",
    });
    expectXml(el, "<item jid='romeo@example.net' subscription='to'/>");
  });
});

describe("parseItemXml (RFC 6121 2.3, 2.5)", () => {
  it("reads the 2.3.1 add of the nurse with a name and a group", () => {
    expect(item("<item jid='nurse@example.com' name='Nurse'><group>Servants</group></item>")).toEqual({
      ok: true,
      item: { jid: "nurse@example.com", name: "Nurse", groups: ["Servants"], remove: false },
    });
  });

  it("reads subscription='remove' (2.5.1) as a removal", () => {
    expect(item("<item jid='nurse@example.com' subscription='remove'/>")).toEqual({
      ok: true,
      item: { jid: "nurse@example.com", groups: [], remove: true },
    });
  });

  it("ignores 'subscription' values other than remove, and 'ask' and 'approved' (2.1.2)", () => {
    expect(
      item("<item jid='nurse@example.com' subscription='both' ask='subscribe' approved='true'/>"),
    ).toEqual({
      ok: true,
      item: { jid: "nurse@example.com", groups: [], remove: false },
    });
  });

  it("requires a 'jid'", () => {
    expect(item("<item name='Nurse'/>")).toMatchObject({ ok: false, condition: "bad-request" });
    expect(item("<item jid=''/>")).toMatchObject({ ok: false, condition: "bad-request" });
  });

  it.each(["@example.com", "nurse@", "nurse@exa mple.com", "nurse@example..com", "nurse@example.com/"])(
    "refuses the malformed JID %s with bad-request",
    (jid) => {
      expect(parseItemXml(stanza(`<item jid='${jid}'/>`))).toMatchObject({
        ok: false,
        condition: "bad-request",
      });
    },
  );

  it("refuses a full JID: roster items are bare JIDs", () => {
    expect(item("<item jid='nurse@example.com/kitchen'/>")).toMatchObject({
      ok: false,
      condition: "bad-request",
    });
  });

  it("normalises the case of the JID as @xmpp/jid does", () => {
    expect(item("<item jid='Nurse@Example.COM'/>")).toMatchObject({
      ok: true,
      item: { jid: "nurse@example.com" },
    });
  });

  it("accepts a domain-only JID (a service)", () => {
    expect(item("<item jid='example.org'/>")).toMatchObject({ ok: true, item: { jid: "example.org" } });
  });

  it("refuses the same group twice with bad-request (2.3.3)", () => {
    expect(
      item("<item jid='nurse@example.com'><group>Kitchen</group><group>Kitchen</group></item>"),
    ).toMatchObject({
      ok: false,
      condition: "bad-request",
    });
  });

  it("treats groups differing only in case as different groups", () => {
    expect(
      item("<item jid='nurse@example.com'><group>Kitchen</group><group>kitchen</group></item>"),
    ).toMatchObject({
      ok: true,
      item: { groups: ["Kitchen", "kitchen"] },
    });
  });

  it("refuses an empty group with not-acceptable (2.3.3)", () => {
    expect(item("<item jid='nurse@example.com'><group></group></item>")).toMatchObject({
      ok: false,
      condition: "not-acceptable",
    });
    expect(item("<item jid='nurse@example.com'><group/></item>")).toMatchObject({
      ok: false,
      condition: "not-acceptable",
    });
  });

  it("refuses a name or a group over the configured limit with not-acceptable (2.3.3)", () => {
    const limits = { ...DEFAULT_ITEM_LIMITS, maxNameLength: 5, maxGroupLength: 3 };
    expect(parseItemXml(stanza("<item jid='nurse@example.com' name='Nurse'/>"), limits)).toMatchObject({
      ok: true,
    });
    expect(parseItemXml(stanza("<item jid='nurse@example.com' name='Nurses'/>"), limits)).toMatchObject({
      ok: false,
      condition: "not-acceptable",
    });
    expect(
      parseItemXml(stanza("<item jid='nurse@example.com'><group>Kitc</group></item>"), limits),
    ).toMatchObject({
      ok: false,
      condition: "not-acceptable",
    });
  });

  it("counts characters, not UTF-16 units, against the limits", () => {
    const limits = { ...DEFAULT_ITEM_LIMITS, maxNameLength: 2 };
    expect(parseItemXml(stanza("<item jid='nurse@example.com' name='🌹🌹'/>"), limits)).toMatchObject({
      ok: true,
    });
  });

  it("refuses more groups than the limit", () => {
    const limits = { ...DEFAULT_ITEM_LIMITS, maxGroups: 1 };
    const el = stanza("<item jid='nurse@example.com'><group>A</group><group>B</group></item>");
    expect(parseItemXml(el, limits)).toMatchObject({ ok: false, condition: "not-acceptable" });
  });

  it("reads an empty name as no name", () => {
    expect(item("<item jid='nurse@example.com' name=''/>")).toEqual({
      ok: true,
      item: { jid: "nurse@example.com", groups: [], remove: false },
    });
  });
});

describe("parseRosterSetQuery (RFC 6121 2.3.3: exactly one item)", () => {
  it("refuses a set with no item or with two items", () => {
    expect(parseRosterSetQuery(stanza("<query xmlns='jabber:iq:roster'/>"))).toMatchObject({
      ok: false,
      condition: "bad-request",
    });
    const two = stanza(
      "<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/><item jid='mercutio@example.com'/></query>",
    );
    expect(parseRosterSetQuery(two)).toMatchObject({ ok: false, condition: "bad-request" });
  });

  it("reads the one item", () => {
    const one = stanza("<query xmlns='jabber:iq:roster'><item jid='nurse@example.com'/></query>");
    expect(parseRosterSetQuery(one)).toMatchObject({ ok: true, item: { jid: "nurse@example.com" } });
  });
});

describe("rosterPush and helpers", () => {
  it("builds a push without 'to' or 'from', with 'ver' when versioned (2.1.6)", () => {
    const push = rosterPush(
      { jid: "nurse@example.com", name: "Nurse", subscription: "none", groups: [] },
      "a78b",
      3,
    );
    expectXml(
      push,
      "<iq type='set' id='a78b'><query xmlns='jabber:iq:roster' ver='3'><item jid='nurse@example.com' name='Nurse' subscription='none'/></query></iq>",
    );
    expectXml(
      rosterPush({ remove: "nurse@example.com" }, "b1"),
      "<iq type='set' id='b1'><query xmlns='jabber:iq:roster'><item jid='nurse@example.com' subscription='remove'/></query></iq>",
    );
  });

  it("hides records of requests from people the user never added", () => {
    const items: RosterItem[] = [
      { jid: "romeo@example.net", subscription: "both", groups: [] },
      { jid: "tybalt@example.com", subscription: "none", groups: [], pendingIn: true, pendingOnly: true },
    ];
    expect(visibleItems(items).map((i) => i.jid)).toEqual(["romeo@example.net"]);
  });

  it("normalises to a bare JID or refuses", () => {
    expect(normaliseBareJid("Romeo@Example.net/Orchard")).toBe("romeo@example.net");
    expect(normaliseBareJid("")).toBeUndefined();
    expect(normaliseBareJid("romeo@")).toBeUndefined();
  });
});
