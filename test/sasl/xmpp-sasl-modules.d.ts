// Types for the untyped client-side SASL modules that @xmpp/client uses, as far as the tests drive them.

declare module "saslmechanisms" {
  export interface ClientMechanism {
    name: string;
    clientFirst: boolean;
    response(credentials: Record<string, unknown>): string | Promise<string>;
    challenge(data: string): unknown;
    /** set by sasl-scram-sha-1 once it has computed the client-final-message */
    _serverSignature?: Uint8Array;
  }
  export default class Factory {
    create(names: string[]): ClientMechanism | null;
  }
}

declare module "@xmpp/sasl-scram-sha-1" {
  export default function saslScramSha1(factory: import("saslmechanisms").default): void;
}

declare module "@xmpp/sasl-plain" {
  export default function saslPlain(factory: import("saslmechanisms").default): void;
}

declare module "@xmpp/base64" {
  export function encode(s: string): string;
  export function decode(s: string): string;
}
