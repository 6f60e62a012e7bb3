// XML namespaces Relais speaks. One place, so a typo is a compile error rather than a silent mismatch.

/** RFC 7395: <open/> and <close/> of XMPP over WebSocket. */
export const NS_FRAMING = "urn:ietf:params:xml:ns:xmpp-framing";
/** RFC 6120: stream-level elements (features, error). */
export const NS_STREAMS = "http://etherx.jabber.org/streams";
/** RFC 6120 4.9: stream error conditions and their <text/>. */
export const NS_XMPP_STREAMS = "urn:ietf:params:xml:ns:xmpp-streams";
/** RFC 6120 8.3: stanza error conditions and their <text/>. */
export const NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas";
export const NS_TLS = "urn:ietf:params:xml:ns:xmpp-tls";
export const NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
export const NS_BIND = "urn:ietf:params:xml:ns:xmpp-bind";
/** RFC 3921 session establishment, still advertised (as optional) for old clients. */
export const NS_SESSION = "urn:ietf:params:xml:ns:xmpp-session";
/** Content namespace of client-to-server streams. */
export const NS_CLIENT = "jabber:client";
/** Content namespace of server-to-server streams. */
export const NS_SERVER = "jabber:server";
/** XEP-0220 server dialback. */
export const NS_DIALBACK = "jabber:server:dialback";
/** The namespace bound to the `xml` prefix (xml:lang). */
export const NS_XML = "http://www.w3.org/XML/1998/namespace";

export const NS_ROSTER = "jabber:iq:roster";
export const NS_DISCO_INFO = "http://jabber.org/protocol/disco#info";
export const NS_DISCO_ITEMS = "http://jabber.org/protocol/disco#items";
/** XEP-0199. */
export const NS_PING = "urn:xmpp:ping";
/** XEP-0198 stream management. */
export const NS_SM = "urn:xmpp:sm:3";
/** XEP-0203 delayed delivery. */
export const NS_DELAY = "urn:xmpp:delay";

/** XEP-0060. */
export const NS_PUBSUB = "http://jabber.org/protocol/pubsub";
export const NS_PUBSUB_OWNER = "http://jabber.org/protocol/pubsub#owner";
export const NS_PUBSUB_EVENT = "http://jabber.org/protocol/pubsub#event";
/** XEP-0060 application-specific error conditions. */
export const NS_PUBSUB_ERRORS = "http://jabber.org/protocol/pubsub#errors";
/** XEP-0004. */
export const NS_DATA_FORMS = "jabber:x:data";
/** XEP-0050 ad-hoc commands. */
export const NS_COMMANDS = "http://jabber.org/protocol/commands";

/** RFC 8428 SenML, XML representation. */
export const NS_SENML = "urn:ietf:params:xml:ns:senml";
/** The energy-data network's Quoalise protocol. */
export const NS_QUOALISE = "urn:quoalise:0";
