// Messages between the bench (main thread, where the hub runs) and the client worker.

export interface LoginArgs {
  readonly service: string;
  readonly jid: string;
  readonly password: string;
  readonly resource?: string;
  /** Ask for the roster and send initial presence once online, as a chat client does. */
  readonly rosterAndPresence: boolean;
}

export interface ChatArgs {
  readonly from: string;
  readonly to: string;
  /** Address written in the messages: the receiver's bare JID, as chat clients use. */
  readonly toJid: string;
  readonly count: number;
  /** Pause after each delivery; 0 sends the next message as soon as the previous one arrived. */
  readonly gapMs: number;
}

export type Request =
  | { readonly id: number; readonly op: "login"; readonly key: string; readonly args: LoginArgs }
  | { readonly id: number; readonly op: "logout"; readonly key: string }
  | { readonly id: number; readonly op: "chat"; readonly args: ChatArgs };

export type Reply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string };

export interface LoginResult {
  /** From start() to the initial presence sent, as the client saw it (includes its own PBKDF2). */
  readonly ms: number;
  readonly jid: string;
}

export interface ChatResult {
  /** Per message, from send() on the sender to the 'stanza' event on the receiver. */
  readonly latenciesMs: number[];
}
