// RFC 6121 section 3 (presence subscriptions) and Appendix A (subscription states), between the RFC's
// romeo@example.net (the user) and juliet@example.com (the contact).
import type { Element } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import type { RosterItem } from "../../shared/xmpp/roster/items";
import {
  type DefinedState,
  definedState,
  inboundPresence,
  mayReceivePresenceFrom,
  outboundPresence,
  pendingRequests,
  presenceRecipients,
  probeTargets,
  type SubscriptionType,
  unansweredRequests,
} from "../../shared/xmpp/roster/subscriptions";
import { applyChanges, counterIds, expectXml, stanza } from "./roster-fixtures";

const romeo = "romeo@example.net";
const juliet = "juliet@example.com";

/** An item of Romeo's roster for Juliet in a given RFC 6121 A.1 state. */
function itemIn(state: DefinedState, contact = juliet): RosterItem {
  const base: RosterItem = { jid: contact, groups: [], subscription: "none" };
  const pendingIn = {
    pendingIn: true,
    pendingInStanza: `<presence from='${contact}' to='${romeo}' type='subscribe'/>`,
  };
  switch (state) {
    case "None":
      return base;
    case "None + Pending Out":
      return { ...base, ask: "subscribe" };
    case "None + Pending In":
      return { ...base, ...pendingIn };
    case "None + Pending Out+In":
      return { ...base, ask: "subscribe", ...pendingIn };
    case "To":
      return { ...base, subscription: "to" };
    case "To + Pending In":
      return { ...base, subscription: "to", ...pendingIn };
    case "From":
      return { ...base, subscription: "from" };
    case "From + Pending Out":
      return { ...base, subscription: "from", ask: "subscribe" };
    case "Both":
      return { ...base, subscription: "both" };
  }
}

type Row = [DefinedState, "yes" | "no", DefinedState | "no state change"];

// RFC 6121 A.2: the user's server, outbound. 3.1.2 and 3.3.2 route every subscribe and unsubscribe,
// whatever the state, so that a contact's server that lost track can catch up.
const outboundTables: Record<SubscriptionType, Row[]> = {
  subscribe: [
    ["None", "yes", "None + Pending Out"],
    ["None + Pending Out", "yes", "no state change"],
    ["None + Pending In", "yes", "None + Pending Out+In"],
    ["None + Pending Out+In", "yes", "no state change"],
    ["To", "yes", "no state change"],
    ["To + Pending In", "yes", "no state change"],
    ["From", "yes", "From + Pending Out"],
    ["From + Pending Out", "yes", "no state change"],
    ["Both", "yes", "no state change"],
  ],
  unsubscribe: [
    ["None", "yes", "no state change"],
    ["None + Pending Out", "yes", "None"],
    ["None + Pending In", "yes", "no state change"],
    ["None + Pending Out+In", "yes", "None + Pending In"],
    ["To", "yes", "None"],
    ["To + Pending In", "yes", "None + Pending In"],
    ["From", "yes", "no state change"],
    ["From + Pending Out", "yes", "From"],
    ["Both", "yes", "From"],
  ],
  subscribed: [
    ["None", "no", "no state change"],
    ["None + Pending Out", "no", "no state change"],
    ["None + Pending In", "yes", "From"],
    ["None + Pending Out+In", "yes", "From + Pending Out"],
    ["To", "no", "no state change"],
    ["To + Pending In", "yes", "Both"],
    ["From", "no", "no state change"],
    ["From + Pending Out", "no", "no state change"],
    ["Both", "no", "no state change"],
  ],
  unsubscribed: [
    ["None", "no", "no state change"],
    ["None + Pending Out", "no", "no state change"],
    ["None + Pending In", "yes", "None"],
    ["None + Pending Out+In", "yes", "None + Pending Out"],
    ["To", "no", "no state change"],
    ["To + Pending In", "yes", "To"],
    ["From", "yes", "None"],
    ["From + Pending Out", "yes", "None + Pending Out"],
    ["Both", "yes", "To"],
  ],
};

// RFC 6121 A.3: the contact's server, inbound ("deliver?"). Marked * in the RFC: no delivery, but an
// automatic 'subscribed' on the user's behalf (3.1.3).
const inboundTables: Record<SubscriptionType, Row[]> = {
  subscribe: [
    ["None", "yes", "None + Pending In"],
    ["None + Pending Out", "yes", "None + Pending Out+In"],
    ["None + Pending In", "no", "no state change"],
    ["None + Pending Out+In", "no", "no state change"],
    ["To", "yes", "To + Pending In"],
    ["To + Pending In", "no", "no state change"],
    ["From", "no", "no state change"],
    ["From + Pending Out", "no", "no state change"],
    ["Both", "no", "no state change"],
  ],
  unsubscribe: [
    ["None", "no", "no state change"],
    ["None + Pending Out", "no", "no state change"],
    ["None + Pending In", "yes", "None"],
    ["None + Pending Out+In", "yes", "None + Pending Out"],
    ["To", "no", "no state change"],
    ["To + Pending In", "yes", "To"],
    ["From", "yes", "None"],
    ["From + Pending Out", "yes", "None + Pending Out"],
    ["Both", "yes", "To"],
  ],
  subscribed: [
    ["None", "no", "no state change"],
    ["None + Pending Out", "yes", "To"],
    ["None + Pending In", "no", "no state change"],
    ["None + Pending Out+In", "yes", "To + Pending In"],
    ["To", "no", "no state change"],
    ["To + Pending In", "no", "no state change"],
    ["From", "no", "no state change"],
    ["From + Pending Out", "yes", "Both"],
    ["Both", "no", "no state change"],
  ],
  unsubscribed: [
    ["None", "no", "no state change"],
    ["None + Pending Out", "yes", "None"],
    ["None + Pending In", "no", "no state change"],
    ["None + Pending Out+In", "yes", "None + Pending In"],
    ["To", "yes", "None"],
    ["To + Pending In", "yes", "None + Pending In"],
    ["From", "no", "no state change"],
    ["From + Pending Out", "yes", "From"],
    ["Both", "yes", "From"],
  ],
};

const types: SubscriptionType[] = ["subscribe", "unsubscribe", "subscribed", "unsubscribed"];

describe("RFC 6121 A.2: outbound subscription stanzas, every state", () => {
  for (const type of types) {
    describe(type, () => {
      it.each(outboundTables[type])("from %s: route %s, then %s", (state, route, next) => {
        const items = [itemIn(state)];
        const r = outboundPresence({
          user: romeo,
          stanza: stanza(`<presence id='p1' to='${juliet}' type='${type}'/>`),
          items,
          preApproval: false, // pre-approval is outside the tables; see 3.4 below
        });
        const after = applyChanges(items, r.changes).find((i) => i.jid === juliet);
        expect(definedState(after)).toBe(next === "no state change" ? state : next);
        expect(r.deliver.length).toBe(route === "yes" ? 1 : 0);
        if (next === "no state change") {
          expect(r.changes).toEqual([]);
          expect(r.pushes).toEqual([]);
        } else if (after?.subscription === items[0]?.subscription && after?.ask === items[0]?.ask) {
          // Only "Pending In" went: the client never saw it (2.1.2), so there is nothing to push.
          expect(r.pushes).toEqual([]);
        } else {
          expect(r.pushes).toHaveLength(1);
          expect(r.pushes[0]?.getChild("query")?.getChild("item")?.attrs.subscription).toBe(
            after?.subscription,
          );
        }
        for (const d of r.deliver) {
          expectXml(d, `<presence from='${romeo}' id='p1' to='${juliet}' type='${type}'/>`);
        }
      });
    });
  }
});

describe("RFC 6121 A.3: inbound subscription stanzas, every state", () => {
  for (const type of types) {
    describe(type, () => {
      it.each(inboundTables[type])("from %s: deliver %s, then %s", (state, deliver, next) => {
        const items = [itemIn(state)];
        const r = inboundPresence({
          contactOwner: romeo,
          stanza: stanza(`<presence from='${juliet}' id='p2' to='${romeo}' type='${type}'/>`),
          items,
        });
        const after = applyChanges(items, r.changes).find((i) => i.jid === juliet);
        expect(definedState(after)).toBe(next === "no state change" ? state : next);
        if (deliver === "yes") {
          expectXml(r.deliverToUser, `<presence from='${juliet}' id='p2' to='${romeo}' type='${type}'/>`);
        } else {
          expect(r.deliverToUser).toBeNull();
        }
        const alreadySubscribed =
          type === "subscribe" && ["From", "From + Pending Out", "Both"].includes(state);
        expect(r.autoReply.map((p) => p.toString())).toEqual(
          alreadySubscribed ? [`<presence from="${romeo}" to="${juliet}" type="subscribed"/>`] : [],
        );
        if (next === "no state change") expect(r.changes).toEqual([]);
      });
    });
  }

  it("pushes a change of the visible item, but not a new pending-in (3.1.3)", () => {
    const toPendingIn = inboundPresence({
      contactOwner: romeo,
      stanza: stanza(`<presence from='${juliet}' to='${romeo}' type='subscribe'/>`),
      items: [itemIn("To")],
    });
    expect(toPendingIn.changes).toHaveLength(1);
    expect(toPendingIn.pushes).toEqual([]);
    const gainTo = inboundPresence({
      contactOwner: romeo,
      stanza: stanza(`<presence from='${juliet}' to='${romeo}' type='subscribed'/>`),
      items: [itemIn("None + Pending Out")],
    });
    expect(gainTo.pushes).toHaveLength(1);
  });
});

// The whole of RFC 6121 3.1: Romeo asks, Juliet approves, each server running its half.
describe("RFC 6121 3.1: Romeo subscribes to Juliet's presence", () => {
  const newId = counterIds();
  let romeoRoster: RosterItem[] = [];
  let julietRoster: RosterItem[] = [];
  let routedRequest: Element | undefined;
  let routedApproval: Element | undefined;

  it("3.1.2: Romeo's server stamps the request with his bare JID, routes it and pushes ask='subscribe'", () => {
    const r = outboundPresence({
      user: romeo,
      stanza: stanza("<presence id='xk3h1v69' to='juliet@example.com' type='subscribe'/>"),
      items: romeoRoster,
      newId,
    });
    expect(r.deliver).toHaveLength(1);
    routedRequest = r.deliver[0];
    expectXml(
      routedRequest,
      "<presence from='romeo@example.net' id='xk3h1v69' to='juliet@example.com' type='subscribe'/>",
    );
    expectXml(
      r.pushes[0],
      "<iq id='push-1' type='set'><query xmlns='jabber:iq:roster'><item ask='subscribe' jid='juliet@example.com' subscription='none'/></query></iq>",
    );
    romeoRoster = applyChanges(romeoRoster, r.changes);
  });

  it("3.1.3: Juliet's server delivers it, keeps it pending with the stanza, and adds no roster item", () => {
    const r = inboundPresence({
      contactOwner: juliet,
      stanza: routedRequest as Element,
      items: julietRoster,
      newId,
    });
    expectXml(
      r.deliverToUser,
      "<presence from='romeo@example.net' id='xk3h1v69' to='juliet@example.com' type='subscribe'/>",
    );
    expect(r.storePending).toBe(true);
    expect(r.pushes).toEqual([]);
    expect(r.autoReply).toEqual([]);
    julietRoster = applyChanges(julietRoster, r.changes);
    expect(julietRoster).toMatchObject([
      { jid: romeo, subscription: "none", pendingIn: true, pendingOnly: true },
    ]);
    // Re-delivered at her next login (3.1.3), with the content it arrived with.
    const pending = pendingRequests(julietRoster);
    expect(pending).toHaveLength(1);
    expectXml(
      stanza(pending[0]?.stanza ?? ""),
      "<presence from='romeo@example.net' id='xk3h1v69' to='juliet@example.com' type='subscribe'/>",
    );
  });

  it("3.1.2: until then Romeo's server knows what to resend", () => {
    expect(unansweredRequests(romeo, romeoRoster).map((p) => p.toString())).toEqual([
      `<presence from="${romeo}" to="${juliet}" type="subscribe"/>`,
    ]);
  });

  it("3.1.5: Juliet approves; her server routes 'subscribed', pushes 'from' and sends her presence", () => {
    const r = outboundPresence({
      user: juliet,
      stanza: stanza("<presence id='h4v1c4kj' to='romeo@example.net' type='subscribed'/>"),
      items: julietRoster,
      newId,
    });
    routedApproval = r.deliver[0];
    expectXml(
      routedApproval,
      "<presence from='juliet@example.com' id='h4v1c4kj' to='romeo@example.net' type='subscribed'/>",
    );
    expect(r.alsoSendPresenceFromUserToContact).toBe(true);
    expectXml(
      r.pushes[0],
      "<iq id='push-2' type='set'><query xmlns='jabber:iq:roster'><item jid='romeo@example.net' subscription='from'/></query></iq>",
    );
    julietRoster = applyChanges(julietRoster, r.changes);
    expect(julietRoster).toEqual([{ jid: romeo, groups: [], subscription: "from" }]);
    expect(pendingRequests(julietRoster)).toEqual([]);
  });

  it("3.1.6: Romeo's server delivers the approval and pushes subscription='to'", () => {
    const r = inboundPresence({
      contactOwner: romeo,
      stanza: routedApproval as Element,
      items: romeoRoster,
      newId,
    });
    expectXml(
      r.deliverToUser,
      "<presence from='juliet@example.com' id='h4v1c4kj' to='romeo@example.net' type='subscribed'/>",
    );
    expectXml(
      r.pushes[0],
      "<iq id='push-3' type='set'><query xmlns='jabber:iq:roster'><item jid='juliet@example.com' subscription='to'/></query></iq>",
    );
    romeoRoster = applyChanges(romeoRoster, r.changes);
    expect(unansweredRequests(romeo, romeoRoster)).toEqual([]);
  });

  it("then Romeo is probing Juliet and Juliet is broadcasting to Romeo (4.2, 4.3)", () => {
    expect(probeTargets(romeoRoster)).toEqual([juliet]);
    expect(mayReceivePresenceFrom(romeoRoster, "juliet@example.com/balcony")).toBe(true);
    expect(presenceRecipients(romeoRoster)).toEqual([]);
    expect(presenceRecipients(julietRoster)).toEqual([romeo]);
    expect(probeTargets(julietRoster)).toEqual([]);
    expect(mayReceivePresenceFrom(julietRoster, romeo)).toBe(false);
  });

  it("a duplicate approval from Juliet's server is not delivered again (A.3.3, 'To': no)", () => {
    const r = inboundPresence({ contactOwner: romeo, stanza: routedApproval as Element, items: romeoRoster });
    expect(r.deliverToUser).toBeNull();
    expect(r.changes).toEqual([]);
  });

  it("3.1.3: Romeo subscribing again is answered by Juliet's server itself, not delivered", () => {
    const r = inboundPresence({
      contactOwner: juliet,
      stanza: routedRequest as Element,
      items: julietRoster,
    });
    expect(r.deliverToUser).toBeNull();
    expect(r.autoReply.map((p) => p.toString())).toEqual([
      `<presence from="${juliet}" to="${romeo}" type="subscribed"/>`,
    ]);
    expect(r.sendProbeResult).toBe(true);
  });
});

describe("RFC 6121 3.1.4, 3.2, 3.3: denial, cancellation, unsubscription", () => {
  it("3.1.4: Juliet denies a request from someone she never added: the record is dropped, 'unsubscribed' routed", () => {
    const items: RosterItem[] = [{ ...itemIn("None + Pending In", romeo), pendingOnly: true }];
    const r = outboundPresence({
      user: juliet,
      stanza: stanza("<presence id='xk3h1v69' to='romeo@example.net' type='unsubscribed'/>"),
      items,
    });
    expect(r.changes).toEqual([{ kind: "delete", jid: romeo }]);
    expect(r.pushes).toEqual([]);
    expectXml(
      r.deliver[0],
      "<presence from='juliet@example.com' id='xk3h1v69' to='romeo@example.net' type='unsubscribed'/>",
    );
    expect(r.alsoSendUnavailableFromUserToContact).toBeUndefined();
  });

  it("3.1.6 (denied): Romeo's server delivers the denial and clears ask='subscribe'", () => {
    const r = inboundPresence({
      contactOwner: romeo,
      stanza: stanza("<presence from='juliet@example.com' to='romeo@example.net' type='unsubscribed'/>"),
      items: [itemIn("None + Pending Out")],
      newId: counterIds(),
    });
    expect(r.deliverToUser).not.toBeNull();
    expectXml(
      r.pushes[0],
      "<iq id='push-1' type='set'><query xmlns='jabber:iq:roster'><item jid='juliet@example.com' subscription='none'/></query></iq>",
    );
  });

  it("3.2.2: Juliet cancels Romeo's subscription: unavailable first, then 'unsubscribed', push 'none'", () => {
    const r = outboundPresence({
      user: juliet,
      stanza: stanza("<presence id='ij5b1v7g' to='romeo@example.net' type='unsubscribed'/>"),
      items: [{ jid: romeo, groups: [], subscription: "from" }],
      newId: counterIds(),
    });
    expect(r.alsoSendUnavailableFromUserToContact).toBe(true);
    expectXml(
      r.deliver[0],
      "<presence from='juliet@example.com' id='ij5b1v7g' to='romeo@example.net' type='unsubscribed'/>",
    );
    expect(r.pushes[0]?.getChild("query")?.getChild("item")?.attrs.subscription).toBe("none");
  });

  it("3.2.3: Romeo's server delivers the cancellation and pushes 'none'", () => {
    const r = inboundPresence({
      contactOwner: romeo,
      stanza: stanza(
        "<presence from='juliet@example.com' id='ij5b1v7g' to='romeo@example.net' type='unsubscribed'/>",
      ),
      items: [itemIn("To")],
    });
    expect(r.deliverToUser).not.toBeNull();
    expect(r.changes).toEqual([{ kind: "put", item: { jid: juliet, groups: [], subscription: "none" } }]);
  });

  it("3.3.2: Romeo unsubscribes: routed, push 'none'", () => {
    const r = outboundPresence({
      user: romeo,
      stanza: stanza("<presence id='ul4bs71n' to='juliet@example.com' type='unsubscribe'/>"),
      items: [itemIn("To")],
    });
    expectXml(
      r.deliver[0],
      "<presence from='romeo@example.net' id='ul4bs71n' to='juliet@example.com' type='unsubscribe'/>",
    );
    expect(r.pushes[0]?.getChild("query")?.getChild("item")?.attrs.subscription).toBe("none");
  });

  it("3.3.3: Juliet's server delivers it, pushes 'none' and sends her unavailable presence to Romeo", () => {
    const r = inboundPresence({
      contactOwner: juliet,
      stanza: stanza(
        "<presence from='romeo@example.net' id='ul4bs71n' to='juliet@example.com' type='unsubscribe'/>",
      ),
      items: [{ jid: romeo, groups: [], subscription: "from" }],
    });
    expect(r.deliverToUser).not.toBeNull();
    expect(r.sendUnavailableToRemote).toBe(true);
    expect(r.pushes[0]?.getChild("query")?.getChild("item")?.attrs.subscription).toBe("none");
  });

  it("3.3.3: an unsubscribe withdrawing a request from someone never added just drops the record", () => {
    const r = inboundPresence({
      contactOwner: juliet,
      stanza: stanza("<presence from='romeo@example.net' to='juliet@example.com' type='unsubscribe'/>"),
      items: [{ ...itemIn("None + Pending In", romeo), pendingOnly: true }],
    });
    expect(r.changes).toEqual([{ kind: "delete", jid: romeo }]);
    expect(r.pushes).toEqual([]);
    expect(r.sendUnavailableToRemote).toBeUndefined();
  });
});

describe("RFC 6121 3.4: pre-approval", () => {
  const subscribed = stanza("<presence id='pre1' to='romeo@example.net' type='subscribed'/>");

  it("3.4.2: a 'subscribed' to someone not in the roster creates an item with approved='true', not routed", () => {
    const r = outboundPresence({ user: juliet, stanza: subscribed, items: [], newId: counterIds() });
    expect(r.deliver).toEqual([]);
    expect(r.changes).toEqual([
      { kind: "put", item: { jid: romeo, groups: [], subscription: "none", approved: true } },
    ]);
    expectXml(
      r.pushes[0],
      "<iq id='push-1' type='set'><query xmlns='jabber:iq:roster'><item approved='true' jid='romeo@example.net' subscription='none'/></query></iq>",
    );
  });

  it.each(["None", "None + Pending Out", "To"] as const)(
    "3.4.2: from %s it sets the flag and pushes",
    (state) => {
      const r = outboundPresence({ user: juliet, stanza: subscribed, items: [itemIn(state, romeo)] });
      expect(r.deliver).toEqual([]);
      expect(r.changes).toMatchObject([{ kind: "put", item: { approved: true } }]);
      expect(r.pushes).toHaveLength(1);
    },
  );

  it.each(["From", "From + Pending Out", "Both"] as const)("3.4.2: from %s it is ignored", (state) => {
    const r = outboundPresence({ user: juliet, stanza: subscribed, items: [itemIn(state, romeo)] });
    expect(r).toEqual({ changes: [], pushes: [], deliver: [] });
  });

  it("3.4: a request from a pre-approved contact is answered automatically and not delivered", () => {
    const items: RosterItem[] = [{ jid: romeo, groups: [], subscription: "to", approved: true }];
    const r = inboundPresence({
      contactOwner: juliet,
      stanza: stanza("<presence from='romeo@example.net' to='juliet@example.com' type='subscribe'/>"),
      items,
    });
    expect(r.deliverToUser).toBeNull();
    expect(r.autoReply.map((p) => p.toString())).toEqual([
      `<presence from="${juliet}" to="${romeo}" type="subscribed"/>`,
    ]);
    expect(r.sendProbeResult).toBe(true);
    expect(r.changes).toEqual([{ kind: "put", item: { jid: romeo, groups: [], subscription: "both" } }]);
    expect(r.pushes[0]?.getChild("query")?.getChild("item")?.attrs).toEqual({
      jid: romeo,
      subscription: "both",
    });
  });

  it("3.4.2: 'unsubscribed' cancels a pre-approval without routing anything", () => {
    const r = outboundPresence({
      user: juliet,
      stanza: stanza("<presence to='romeo@example.net' type='unsubscribed'/>"),
      items: [{ jid: romeo, groups: [], subscription: "none", approved: true }],
    });
    expect(r.deliver).toEqual([]);
    expect(r.changes).toEqual([{ kind: "put", item: { jid: romeo, groups: [], subscription: "none" } }]);
    expect(r.pushes).toHaveLength(1);
  });
});

describe("addressing and edge cases", () => {
  it("3.1.2: a request to a full JID is treated as one to the bare JID, and stamped with the sender's bare JID", () => {
    const r = outboundPresence({
      user: romeo,
      stanza: stanza(
        "<presence from='romeo@example.net/orchard' to='Juliet@Example.com/balcony' type='subscribe'/>",
      ),
      items: [],
    });
    expect(r.deliver[0]?.attrs).toMatchObject({ from: romeo, to: juliet });
    expect(r.changes).toMatchObject([{ kind: "put", item: { jid: juliet } }]);
  });

  it("keeps the request's extended content (3.1.3: 'including any extended content')", () => {
    const r = outboundPresence({
      user: romeo,
      stanza: stanza(
        "<presence to='juliet@example.com' type='subscribe'><status>It is I, Romeo</status><nick xmlns='http://jabber.org/protocol/nick'>Romeo</nick></presence>",
      ),
      items: [],
    });
    expectXml(
      r.deliver[0],
      "<presence from='romeo@example.net' to='juliet@example.com' type='subscribe'><status>It is I, Romeo</status><nick xmlns='http://jabber.org/protocol/nick'>Romeo</nick></presence>",
    );
  });

  it("does not leave the caller's stanza modified", () => {
    const s = stanza("<presence from='romeo@example.net/orchard' to='juliet@example.com' type='subscribe'/>");
    outboundPresence({ user: romeo, stanza: s, items: [] });
    expect(s.attrs.from).toBe("romeo@example.net/orchard");
  });

  it("answers a missing or malformed 'to' with jid-malformed and changes nothing", () => {
    for (const text of ["<presence type='subscribe'/>", "<presence to='juliet@' type='subscribe'/>"]) {
      const r = outboundPresence({ user: romeo, stanza: stanza(text), items: [] });
      expect(r.deliver).toEqual([]);
      expect(r.changes).toEqual([]);
      expect(r.error?.getChild("error")?.getChildElements()[0]?.name).toBe("jid-malformed");
    }
  });

  it("does nothing for subscriptions to oneself", () => {
    const r = outboundPresence({
      user: romeo,
      stanza: stanza(`<presence to='${romeo}' type='subscribe'/>`),
      items: [],
    });
    expect(r).toEqual({ changes: [], pushes: [], deliver: [] });
  });

  it("stores nothing for an unsubscribe to, or an unsubscribed from, a stranger", () => {
    const out = outboundPresence({
      user: romeo,
      stanza: stanza(`<presence to='${juliet}' type='unsubscribe'/>`),
      items: [],
    });
    expect(out.changes).toEqual([]);
    expect(out.deliver).toHaveLength(1);
    const inbound = inboundPresence({
      contactOwner: romeo,
      stanza: stanza(`<presence from='${juliet}' type='unsubscribed'/>`),
      items: [],
    });
    expect(inbound).toEqual({ changes: [], pushes: [], deliverToUser: null, autoReply: [] });
  });

  it("a repeated request while one is pending is neither delivered nor stored again (A.3.1)", () => {
    const items: RosterItem[] = [{ ...itemIn("None + Pending In", romeo), pendingOnly: true }];
    const r = inboundPresence({
      contactOwner: juliet,
      stanza: stanza(
        `<presence from='${romeo}' to='${juliet}' type='subscribe'><status>again</status></presence>`,
      ),
      items,
    });
    expect(r.deliverToUser).toBeNull();
    expect(r.storePending).toBeUndefined();
    expect(r.changes).toEqual([]);
  });

  it("ignores inbound stanzas without a usable 'from'", () => {
    const r = inboundPresence({
      contactOwner: romeo,
      stanza: stanza("<presence type='subscribe'/>"),
      items: [],
    });
    expect(r).toEqual({ changes: [], pushes: [], deliverToUser: null, autoReply: [] });
  });

  it("throws on a presence that is not a subscription one", () => {
    expect(() =>
      outboundPresence({ user: romeo, stanza: stanza(`<presence to='${juliet}'/>`), items: [] }),
    ).toThrow();
    expect(() =>
      inboundPresence({
        contactOwner: romeo,
        stanza: stanza(`<presence from='${juliet}' type='probe'/>`),
        items: [],
      }),
    ).toThrow();
  });

  it("bumps the roster version once per push and carries it on the push (2.6)", () => {
    const r = outboundPresence({
      user: romeo,
      stanza: stanza(`<presence to='${juliet}' type='subscribe'/>`),
      items: [],
      rosterVersion: 41,
    });
    expect(r.rosterVersion).toBe(42);
    expect(r.pushes[0]?.getChild("query")?.attrs.ver).toBe("42");
    const hidden = inboundPresence({
      contactOwner: romeo,
      stanza: stanza(`<presence from='${juliet}' type='subscribe'/>`),
      items: [],
      rosterVersion: 42,
    });
    expect(hidden.rosterVersion).toBe(42);
  });

  it("definedState reads an absent item as None", () => {
    expect(definedState(undefined)).toBe("None");
  });
});
