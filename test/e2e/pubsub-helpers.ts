import type { Client } from "@xmpp/client";
import type { Element } from "@xmpp/xml";
import { expect } from "vitest";
import { NS_PUBSUB, NS_PUBSUB_EVENT } from "../../shared/xmpp/namespaces";
import { xml } from "../support/xmpp-client";
import { iqOutcome } from "./xmpp-helpers";

// PubSub steps shared by the stream tests: an open node, a subscription, a publish, and the item ids
// an inbox was notified of.

export const sensml = (value: number, at: number) =>
  xml(
    "sensml",
    { xmlns: "urn:ietf:params:xml:ns:senml" },
    xml("senml", {
      bn: "urn:dev:prm:30001610071843_consumption/power/active/raw",
      bt: String(at),
      v: String(value),
      bu: "W",
    }),
  );

export async function createOpenNode(
  owner: Client,
  node: string,
  service: string,
  fields: Record<string, string> = {},
): Promise<void> {
  const outcome = await iqOutcome(
    owner,
    xml(
      "iq",
      { type: "set", to: service },
      xml(
        "pubsub",
        { xmlns: NS_PUBSUB },
        xml("create", { node }),
        xml(
          "configure",
          {},
          xml(
            "x",
            { xmlns: "jabber:x:data", type: "submit" },
            xml(
              "field",
              { var: "FORM_TYPE", type: "hidden" },
              xml("value", {}, "http://jabber.org/protocol/pubsub#node_config"),
            ),
            xml("field", { var: "pubsub#access_model" }, xml("value", {}, "open")),
            ...Object.entries(fields).map(([name, value]) =>
              xml("field", { var: name }, xml("value", {}, value)),
            ),
          ),
        ),
      ),
    ),
  );
  expect(outcome).toBe("result");
}

export async function subscribe(c: Client, jid: string, node: string, service: string): Promise<void> {
  const outcome = await iqOutcome(
    c,
    xml(
      "iq",
      { type: "set", to: service },
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("subscribe", { node, jid })),
    ),
  );
  expect(outcome).toBe("result");
}

export async function publish(
  c: Client,
  node: string,
  id: string,
  payload: Element,
  service: string,
): Promise<string> {
  return iqOutcome(
    c,
    xml(
      "iq",
      { type: "set", to: service },
      xml("pubsub", { xmlns: NS_PUBSUB }, xml("publish", { node }, xml("item", { id }, payload))),
    ),
  );
}

/** Item ids of the notifications in an inbox, for one node, in arrival order. */
export function notified(inbox: Element[], node: string, service: string): string[] {
  return inbox
    .filter((s) => s.is("message") && s.attrs.from === service)
    .map((s) => s.getChild("event", NS_PUBSUB_EVENT)?.getChild("items"))
    .filter((items): items is Element => items?.attrs.node === node)
    .flatMap((items) => items.getChildren("item").map((i) => i.attrs.id ?? ""));
}

export async function until(check: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
