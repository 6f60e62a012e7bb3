import { type Element, xml } from "@xmpp/xml";
import { applyRosterChanges, loadRoster } from "../../directory/rosters";
import { type IqFeature, iqKey } from "../iq/dispatch";
import { bareOf } from "../jid";
import { NS_ROSTER } from "../namespaces";
import { handleRosterIq } from "../roster/roster-iq";
import { deliver, route } from "../routing/router";
import { sessionsOf } from "../session/store";
import type { Turn } from "../session/turn";

/** RFC 6121 section 2: roster get and set, with pushes to every interested resource. */
export const rosterFeature: IqFeature = {
  discoFeatures: [],
  handlers: {
    [iqKey("get", "self", NS_ROSTER, "query")]: (ctx) => rosterIq(ctx.iq, bareOf(ctx.from), ctx.turn),
    [iqKey("set", "self", NS_ROSTER, "query")]: (ctx) => rosterIq(ctx.iq, bareOf(ctx.from), ctx.turn),
  },
};

async function rosterIq(iq: Element, user: string, turn: Turn | undefined) {
  const items = await loadRoster(user);
  // The roster module treats a missing 'from' as the user's own stream; ours is always stamped.
  const result = handleRosterIq({ iq, user, items });
  await applyRosterChanges(user, result.changes);
  if (iq.attrs.type === "get" && turn) turn.state.interested = true;
  await pushToInterested(user, result.pushes, turn);
  for (const presence of result.outbound) await route(withFrom(presence, user), turn);
  return { ok: "built" as const, reply: result.reply };
}

/** Sends roster pushes to each resource of `user` that asked for the roster (RFC 6121 2.1.6). */
export async function pushToInterested(user: string, pushes: readonly Element[], turn?: Turn): Promise<void> {
  if (pushes.length === 0) return;
  const sessions = await sessionsOf(user);
  for (const s of sessions) {
    const own = turn && s.connectionId === turn.connectionId;
    const interested = own ? turn.state.interested : s.state.interested;
    if (!interested || !s.resource) continue;
    for (const push of pushes) {
      await deliver(s, xml("iq", { ...push.attrs, to: `${user}/${s.resource}` }, ...push.children), turn);
    }
  }
  // The own session may not be indexed yet (bound in this very turn): it is reached through the turn.
  if (
    turn?.state.interested &&
    !sessions.some((s) => s.connectionId === turn.connectionId) &&
    turn.state.resource
  ) {
    for (const push of pushes) {
      await deliver(
        { ...turn.record, connectionId: turn.connectionId },
        xml("iq", { ...push.attrs, to: `${user}/${turn.state.resource}` }, ...push.children),
        turn,
      );
    }
  }
}

export function withFrom(stanza: Element, from: string): Element {
  return xml(stanza.name, { ...stanza.attrs, from }, ...stanza.children);
}
