import { type Element, xml } from "@xmpp/xml";
import { type IqContext, type IqFeature, type IqReply, iqKey } from "../iq/dispatch";
import { NS_DISCO_INFO, NS_DISCO_ITEMS } from "../namespaces";

// XEP-0030 service discovery for the server and for accounts. A service hosted beside the server (the
// PubSub service of each domain, which lists its streams: the "listing of available data") answers for
// its own JID through a DiscoService, and is listed in the server's disco#items.

export interface DiscoService {
  /** The answer for a request to this service's JID; undefined when `ctx.to` is not this service. */
  info(ctx: IqContext): Promise<IqReply | undefined>;
  items(ctx: IqContext): Promise<IqReply | undefined>;
  /** Items the server `domain` lists for this service. */
  serverItems(domain: string): Element[];
}

export function discoFeature(
  serverFeatures: () => readonly string[],
  services: readonly DiscoService[] = [],
): IqFeature {
  const delegated = async (ctx: IqContext, which: "info" | "items"): Promise<IqReply | undefined> => {
    for (const s of services) {
      const answer = await s[which](ctx);
      if (answer) return answer;
    }
    return undefined;
  };
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
      [iqKey("get", "host", NS_DISCO_INFO, "query")]: async (ctx) =>
        (await delegated(ctx, "info")) ??
        (ctx.payload.attrs.node
          ? unknownNode
          : { ok: true, payload: info("server", "im", serverFeatures()) }),
      [iqKey("get", "host", NS_DISCO_ITEMS, "query")]: async (ctx) =>
        (await delegated(ctx, "items")) ??
        (ctx.payload.attrs.node
          ? unknownNode
          : {
              ok: true,
              payload: xml(
                "query",
                { xmlns: NS_DISCO_ITEMS },
                ...services.flatMap((s) => s.serverItems(ctx.to.domain)),
              ),
            }),
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
