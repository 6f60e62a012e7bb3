import { randomBytes } from "node:crypto";
import { xml } from "@xmpp/xml";
import { hostedDomain } from "../../directory/domains";
import { goOffline } from "../features/presence";
import { type FrameLimits, parseFrame } from "../frame-parser";
import { NS_BIND, NS_CLIENT, NS_FRAMING, NS_SASL, NS_SM } from "../namespaces";
import { handleStanza } from "../stanza-handler";
import { CLOSE_FRAME, type StreamErrorCondition, streamErrorFrames } from "../stream-errors";
import { bindResource } from "./bind";
import { streamFeatures } from "./features";
import { saslStep } from "./sasl-step";
import { acknowledge, countInbound, enable, request, resume, scheduleEnd } from "./stream-management";
import { sendNonza, type Turn } from "./turn";

/** Limits on one inbound frame. API Gateway itself refuses frames over 32 KiB before we see them. */
export const frameLimits: FrameLimits = {
  maxBytes: 32 * 1024,
  maxDepth: 64,
  maxAttributesPerElement: 64,
};

/** Handles one WebSocket message of an RFC 7395 stream. */
export async function handleFrame(turn: Turn, body: string): Promise<void> {
  const parsed = parseFrame(body, frameLimits);
  if (!parsed.ok) return streamError(turn, parsed.error.condition, parsed.error.text);
  const frame = parsed.frame;
  if (frame.kind === "open") return openStream(turn, frame);
  if (frame.kind === "close") {
    sendNonza(turn, CLOSE_FRAME);
    turn.closing = true;
    return endClosedSession(turn);
  }
  const state = turn.state;
  if (state.phase === "connected") return streamError(turn, "not-authorized", "the stream was not opened");
  const el = frame.element;
  const ns = el.getNS();
  // After its <close/>, a stream's late frames count only as acknowledgements.
  if (state.closed && ns !== NS_SM) return;

  if (ns === NS_SASL) {
    if (state.phase !== "opened") return streamError(turn, "policy-violation", "already authenticated");
    if (el.name === "auth" || el.name === "response" || el.name === "abort") return saslStep(turn, el);
    return streamError(turn, "unsupported-stanza-type", `<${el.name}/> is not a SASL element`);
  }
  if (state.phase === "opened") return streamError(turn, "not-authorized", "authenticate first");
  if (state.phase === "authenticated") {
    return streamError(turn, "not-authorized", "restart the stream after authentication");
  }

  if (ns === NS_SM) {
    switch (el.name) {
      case "enable":
        return enable(turn, el);
      case "resume":
        return resume(turn, el);
      case "r":
        return request(turn);
      case "a":
        return acknowledge(turn, el);
      default:
        return streamError(
          turn,
          "unsupported-stanza-type",
          `<${el.name}/> is not a stream management element`,
        );
    }
  }
  if (ns !== NS_CLIENT || !["message", "presence", "iq"].includes(el.name)) {
    return streamError(turn, "unsupported-stanza-type", `<${el.name} xmlns="${ns ?? ""}"/> is not a stanza`);
  }
  if (state.phase !== "bound") {
    if (el.name === "iq" && el.attrs.type === "set" && el.getChild("bind", NS_BIND))
      return bindResource(turn, el);
    return streamError(turn, "not-authorized", "bind a resource before sending stanzas");
  }
  countInbound(turn);
  return handleStanza(turn, el);
}

/**
 * A stream the client closed on purpose ends its session (RFC 7395 3.6): contacts are told at once
 * that it went offline, and it is not kept for XEP-0198 resumption, which is for sockets lost
 * without a <close/>. Stanzas the client did not acknowledge are routed again (to another resource
 * or offline storage), but only after a short grace: the client's last <a/>, sent just before its
 * <close/>, may be handled by an invocation that runs after this one (frames are handled
 * concurrently), and must still count.
 */
export const CLOSE_GRACE_SECONDS = 3;

function endClosedSession(turn: Turn): void {
  const state = turn.state;
  // Sessions without XEP-0198 have nothing to wait for: $disconnect ends them, as before.
  if (state.phase !== "bound" || !state.sm) return;
  const wasAvailable = state.available ? { ...state } : undefined;
  state.closed = true;
  state.available = false;
  state.sm.resumable = false;
  turn.after.push(async () => {
    if (wasAvailable) await goOffline(wasAvailable);
    await scheduleEnd(turn.connectionId, CLOSE_GRACE_SECONDS, false);
  });
}

async function openStream(
  turn: Turn,
  frame: { to?: string; version?: string; lang?: string },
): Promise<void> {
  const state = turn.state;
  const to = (frame.to ?? "").toLowerCase();
  if (state.phase === "bound")
    return streamError(turn, "not-authorized", "the stream is already established");
  if (!to || !(await hostedDomain(to))) {
    sendOpen(turn, to || undefined);
    return streamError(turn, "host-unknown", `${to || "(no 'to')"} is not served here`, true);
  }
  if (state.domain && state.domain !== to) {
    return streamError(turn, "host-unknown", "a restarted stream must keep its domain");
  }
  if (frame.version !== "1.0") {
    sendOpen(turn, to);
    return streamError(turn, "unsupported-version", "only XMPP 1.0 is supported", true);
  }
  const hosted = await hostedDomain(to);
  state.domain = to;
  state.tenantId = hosted?.tenantId;
  state.lang = frame.lang ?? "en";
  if (state.phase === "connected") state.phase = "opened";
  else if (state.phase === "authenticated") state.phase = "ready";
  else if (state.phase === "ready") return streamError(turn, "not-authorized", "bind a resource first");
  state.streamId = randomBytes(9).toString("base64url");
  sendOpen(turn, to);
  sendNonza(turn, streamFeatures(state, frameLimits.maxBytes));
}

function sendOpen(turn: Turn, from: string | undefined): void {
  sendNonza(
    turn,
    xml("open", {
      xmlns: NS_FRAMING,
      from,
      id: turn.state.streamId ?? randomBytes(9).toString("base64url"),
      version: "1.0",
      "xml:lang": "en",
    }),
  );
}

/** RFC 7395 3.6: the error, then <close/>; the connection is closed once they are sent. */
function streamError(turn: Turn, condition: StreamErrorCondition, text: string, opened = false): void {
  if (turn.state.phase === "connected" && !opened) sendOpen(turn, turn.state.domain);
  for (const f of streamErrorFrames(condition, text)) sendNonza(turn, f);
  turn.closing = true;
}
