import { xml } from "@xmpp/xml";
import { type IqFeature, iqKey } from "../iq/dispatch";
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from "../namespaces";

// XEP-0030 service discovery for the server and for accounts. The PubSub service of each domain
// will list its streams here (the "listing of available data").

export function discoFeature(serverFeatures: () => readonly string[]): IqFeature {
  const info = (category: string, type: string, features: readonly string[]) =>
    xml(
      "query",
      { xmlns: NS_DISCO_INFO },
      xml("identity", { category, type, name: category === "server" ? "Relais" : undefined }),
      ...features.map((f) => xml("feature", { var: f })),
    );
  const unknownNode = { ok: false, condition: "item-not-found", text: "no such node" } as const;
  return {
    discoFeatures: [NS_DISCO_INFO, NS_DISCO_ITEMS],
    handlers: {
      [iqKey("get", "host", NS_DISCO_INFO, "query")]: async ({ payload }) =>
        payload.attrs.node ? unknownNode : { ok: true, payload: info("server", "im", serverFeatures()) },
      [iqKey("get", "host", NS_DISCO_ITEMS, "query")]: async ({ payload }) =>
        payload.attrs.node ? unknownNode : { ok: true, payload: xml("query", { xmlns: NS_DISCO_ITEMS }) },
      // An account answers for itself (XEP-0030 3.1 "account/registered"); its own items are none yet.
      [iqKey("get", "self", NS_DISCO_INFO, "query")]: async ({ payload }) =>
        payload.attrs.node
          ? unknownNode
          : { ok: true, payload: info("account", "registered", [NS_DISCO_INFO]) },
      [iqKey("get", "self", NS_DISCO_ITEMS, "query")]: async ({ payload }) =>
        payload.attrs.node ? unknownNode : { ok: true, payload: xml("query", { xmlns: NS_DISCO_ITEMS }) },
    },
  };
}
