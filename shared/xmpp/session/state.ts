import type { SaslState } from "../../sasl/server";

/**
 * What a stateless frame handler needs to know about its XMPP stream, stored as JSON in the
 * Sessions table between frames. Attributes that other writers touch (deliveries counting XEP-0198
 * stanzas, routing lookups) live beside it as top-level attributes, see SessionRecord.
 */
export interface SessionState {
  readonly v: 1;
  /** connected → opened (<open/>) → authenticated (SASL done) → ready (restarted) → bound (resource). */
  phase: "connected" | "opened" | "authenticated" | "ready" | "bound";
  /** The hosted domain the client opened its stream to, and its tenant. */
  domain?: string;
  tenantId?: string;
  streamId?: string;
  lang?: string;
  sasl?: SaslState;
  /** Failed SASL attempts on this connection (a per-connection limit on top of the per-account one). */
  saslFailures: number;
  /** The authenticated account's bare JID. */
  user?: string;
  resource?: string;
  /** RFC 6121 "interested resource": asked for the roster, so it gets pushes and subscription requests. */
  interested: boolean;
  available: boolean;
  priority: number;
  /** The last available presence broadcast, serialised: answers probes. */
  presence?: string;
  /** JIDs (full or bare) this session sent directed available presence to, told when it goes offline. */
  directed: string[];
  sm?: { id: string; inbound: number; resumable: boolean };
  /** The client sent <close/>: the session ends after a short grace (see stream.ts), not on $disconnect. */
  closed?: boolean;
}

export const newSessionState = (): SessionState => ({
  v: 1,
  phase: "connected",
  saslFailures: 0,
  interested: false,
  available: false,
  priority: 0,
  directed: [],
});

/** One frame handed to the invocation currently holding the session's lease. */
export interface PendingFrame {
  /** The text of the frame; for a binary message whose bytes are not UTF-8, their base64 (see `invalid`). */
  readonly body: string;
  /** A binary message that is not UTF-8: answered unsupported-encoding in its turn (RFC 6120 11.6). */
  readonly invalid?: true;
  readonly at: number;
  readonly id: string;
}

/** The Sessions item, as read back. */
export interface SessionRecord {
  readonly connectionId: string;
  readonly state: SessionState;
  readonly bareJid?: string;
  readonly resource?: string;
  readonly available: boolean;
  readonly priority: number;
  readonly smEnabled: boolean;
  /** Socket gone, stream kept for XEP-0198 resumption. */
  readonly detached: boolean;
  readonly detachedAt?: number;
  /** XEP-0198: stanzas sent but not yet acknowledged; smQueue[i] was the (smBase + i)-th stanza sent. */
  readonly smBase: number;
  readonly smQueue: string[];
  readonly pending: PendingFrame[];
  readonly connectedAt: number;
}
