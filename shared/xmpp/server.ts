import { discoFeature } from "./features/disco";
import { pingFeature } from "./features/ping";
import { presenceControl } from "./features/presence";
import { handlePubsubMessage, pubsubDisco, pubsubFeature } from "./features/pubsub";
import { consentFeature } from "./features/pubsub-consent";
import { rosterFeature } from "./features/roster";
import { sessionFeature } from "./features/session";
import { IqRegistry } from "./iq/dispatch";
import { NS_SM } from "./namespaces";
import { setLocalHandlers } from "./routing/router";

// The server's features, wired in one place (xmpp.js's packages/client/index.js does the same):
// adding an XEP is one module and one line here.

export const iqRegistry = new IqRegistry();
iqRegistry
  .add(discoFeature(() => iqRegistry.discoFeatures, [pubsubDisco]))
  .add(pingFeature)
  .add(sessionFeature)
  .add(rosterFeature)
  .add(pubsubFeature)
  .add(consentFeature);
// Stream-level features that have no iq handler but are worth advertising.
iqRegistry.discoFeatures.push(NS_SM, "jabber:iq:roster", "urn:xmpp:stream-limits:0");

setLocalHandlers({
  iq: (stanza, target, turn) => iqRegistry.dispatch(stanza, target, turn),
  presenceControl,
  serviceMessage: handlePubsubMessage,
});
