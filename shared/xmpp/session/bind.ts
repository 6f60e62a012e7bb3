import { randomBytes } from "node:crypto";
import { type Element, xml } from "@xmpp/xml";
import { NS_BIND } from "../namespaces";
import { stanzaError } from "../stanza-errors";
import { retireSession } from "./retire";
import { addRoute } from "./routes";
import { claimResource, getSession, sessionsOf } from "./store";
import { sendStanza, type Turn } from "./turn";

/** RFC 6120 section 7: resource binding, with a server-generated resource when none is asked. */
export async function bindResource(turn: Turn, iq: Element): Promise<void> {
  const state = turn.state;
  const asked = iq.getChild("bind", NS_BIND)?.getChildText("resource")?.trim();
  if (asked !== undefined && asked !== "" && (asked.length > 1023 || /[\t\n\r]/.test(asked))) {
    sendStanza(
      turn,
      stanzaError(iq, "bad-request", { text: "the resource is too long or holds tabs or line breaks" }),
    );
    return;
  }
  const resource = asked || `relais-${randomBytes(6).toString("hex")}`;
  const user = state.user ?? "";
  // RFC 6120 7.7.2.2: a resource already in use. Like Prosody's default, the new session takes it over:
  // the old one is usually a client that lost its socket and did not resume.
  // The claim is atomic (a session binding at this very moment has claimed it, though not yet saved
  // its state); the index lookup also finds sessions whose claim lapsed.
  const conflict = ["conflict", "replaced by a new session with the same resource"] as const;
  const holder = await claimResource(`${user}/${resource}`, turn.connectionId);
  const previous = holder ? await getSession(holder) : undefined;
  if (previous) await retireSession(previous, { streamError: [...conflict] });
  for (const s of await sessionsOf(user)) {
    if (s.resource === resource && s.connectionId !== turn.connectionId && s.connectionId !== holder) {
      await retireSession(s, { streamError: [...conflict] });
    }
  }
  await addRoute(user, turn.connectionId);
  state.resource = resource;
  state.phase = "bound";
  sendStanza(
    turn,
    xml(
      "iq",
      { type: "result", id: iq.attrs.id },
      xml("bind", { xmlns: NS_BIND }, xml("jid", {}, `${user}/${resource}`)),
    ),
  );
}
