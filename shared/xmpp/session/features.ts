import { type Element, xml } from "@xmpp/xml";
import { supportedMechanisms } from "../../sasl/server";
import { NS_BIND, NS_SASL, NS_SESSION, NS_SM, NS_STREAMS } from "../namespaces";
import type { SessionState } from "./state";

/** XEP-0478: what this server accepts in one frame, so clients can split or refuse early. */
export const NS_STREAM_LIMITS = "urn:xmpp:stream-limits:0";

/** The <features/> offered after an <open/>, by stream phase (RFC 6120 4.3.2, RFC 7395 3.4). */
export function streamFeatures(state: SessionState, maxFrameBytes: number): Element {
  const features = xml("features", { xmlns: NS_STREAMS });
  features.cnode(xml("limits", { xmlns: NS_STREAM_LIMITS }, xml("max-bytes", {}, String(maxFrameBytes))));
  if (state.phase === "opened") {
    // The WebSocket is TLS in production (API Gateway only serves wss), so PLAIN is safe to offer.
    features.cnode(
      xml("mechanisms", { xmlns: NS_SASL }, ...supportedMechanisms.map((m) => xml("mechanism", {}, m))),
    );
  } else {
    features.cnode(xml("bind", { xmlns: NS_BIND }));
    // RFC 6121 obsoletes session establishment; older clients still ask, so it is offered as optional.
    features.cnode(xml("session", { xmlns: NS_SESSION }, xml("optional")));
    features.cnode(xml("sm", { xmlns: NS_SM }));
  }
  return features;
}
