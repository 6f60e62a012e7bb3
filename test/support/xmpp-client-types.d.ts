// @xmpp/client 0.14 ships no type declarations; this covers what the tests use of it.
declare module "@xmpp/client" {
  import type { Element } from "@xmpp/xml";
  export interface ClientOptions {
    service: string;
    domain?: string;
    username?: string;
    password?: string;
    resource?: string;
    lang?: string;
    /** Called with the offered mechanisms; `authenticate(creds, mechanism)` picks one (e.g. "PLAIN"). */
    credentials?: (
      authenticate: (creds: { username: string; password: string }, mechanism: string) => Promise<void>,
      mechanisms: string[],
    ) => Promise<void>;
  }
  export interface StreamManagement {
    enabled: boolean;
    id: string;
    inbound: number;
    outbound: number;
    outbound_q: unknown[];
    requestAckInterval: number;
    timeout: number;
    on(event: string, listener: (...args: unknown[]) => void): void;
  }
  export interface Client {
    jid?: { toString(): string };
    status: string;
    start(): Promise<{ toString(): string }>;
    stop(): Promise<void>;
    send(...elements: Element[]): Promise<void>;
    sendReceive(element: Element, timeout?: number): Promise<Element>;
    write(data: string): Promise<void>;
    disconnect(timeout?: number): Promise<void>;
    on(event: "stanza", listener: (stanza: Element) => void): void;
    on(event: "online", listener: (jid: { toString(): string }) => void): void;
    on(event: string, listener: (...args: never[]) => void): void;
    once(event: string, listener: (...args: never[]) => void): void;
    prependListener(event: "element", listener: (el: Element) => void): void;
    iqCaller: { request(iq: Element, timeout?: number): Promise<Element> };
    streamManagement: StreamManagement;
    reconnect: { stop(): void; delay: number };
    socket?: { socket?: { close(): void; terminate?(): void } } | null;
  }
  export function client(options: ClientOptions): Client;
  export const xml: typeof import("@xmpp/xml").xml;
  export { jid } from "@xmpp/jid";
}
