// @xmpp/jid 0.14 ships no type declarations. Only an interface and a function are declared here, so that
// a fuller declaration added elsewhere later (a class JID, more functions) merges with this one instead of
// clashing with it.
declare module "@xmpp/jid" {
  export interface JID {
    bare(): JID;
    toString(): string;
    getLocal(): string;
    getDomain(): string;
    getResource(): string;
    equals(other: JID): boolean;
  }
  /** Parses "local@domain/resource"; throws a TypeError when there is no domain. */
  export function jid(address: string): JID;
}
