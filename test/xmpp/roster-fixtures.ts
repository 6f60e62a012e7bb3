// Helpers for the roster tests: literal XML read by the real frame parser, and comparison of elements
// that ignores attribute order.
import type { Element } from "@xmpp/xml";
import { expect } from "vitest";
import { parseFrame } from "../../shared/xmpp/frame-parser";
import type { RosterChange, RosterItem } from "../../shared/xmpp/roster/items";

const limits = { maxBytes: 65_536, maxDepth: 16, maxAttributesPerElement: 16 };

export function stanza(text: string): Element {
  const r = parseFrame(text, limits);
  if (!r.ok || r.frame.kind !== "element") throw new Error(`fixture is not one element: ${text}`);
  return r.frame.element;
}

interface Canonical {
  name: string;
  attrs: [string, string][];
  children: (Canonical | string)[];
}

// The frame parser puts the stream's content namespace on the top element; stanzas built by the core
// leave it to the stream. Either way it is the same stanza.
function canon(el: Element, top = true): Canonical {
  const attrs = Object.entries(el.attrs)
    .filter(([k, v]) => v !== undefined && !(top && k === "xmlns" && v === "jabber:client"))
    .sort(([a], [b]) => a.localeCompare(b));
  return {
    name: el.name,
    attrs,
    children: el.children.map((c) => (typeof c === "string" ? c : canon(c, false))),
  };
}

export function expectXml(actual: Element | null | undefined, expected: string): void {
  expect(actual, `expected ${expected}`).toBeDefined();
  expect(actual).not.toBeNull();
  expect(canon(actual as Element)).toEqual(canon(stanza(expected)));
}

/** Deterministic push ids: push-1, push-2, ... */
export function counterIds(prefix = "push"): () => string {
  let n = 0;
  return () => `${prefix}-${++n}`;
}

export function applyChanges(items: readonly RosterItem[], changes: readonly RosterChange[]): RosterItem[] {
  let next = [...items];
  for (const c of changes) {
    if (c.kind === "delete") next = next.filter((i) => i.jid !== c.jid);
    else next = [...next.filter((i) => i.jid !== c.item.jid), c.item];
  }
  return next;
}
