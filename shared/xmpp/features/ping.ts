import { type IqFeature, iqKey } from "../iq/dispatch";
import { NS_PING } from "../namespaces";

/** XEP-0199: the server answers pings to itself and to the sender's own account. */
export const pingFeature: IqFeature = {
  discoFeatures: [NS_PING],
  handlers: {
    [iqKey("get", "host", NS_PING, "ping")]: async () => ({ ok: true }),
    [iqKey("get", "self", NS_PING, "ping")]: async () => ({ ok: true }),
  },
};
