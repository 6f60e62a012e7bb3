import { type IqFeature, iqKey } from "../iq/dispatch";
import { NS_SESSION } from "../namespaces";

/** RFC 3921 session establishment: a no-op kept for clients that still ask (RFC 6121 appendix E). */
export const sessionFeature: IqFeature = {
  discoFeatures: [],
  handlers: {
    [iqKey("set", "host", NS_SESSION, "session")]: async () => ({ ok: true }),
    [iqKey("set", "self", NS_SESSION, "session")]: async () => ({ ok: true }),
  },
};
