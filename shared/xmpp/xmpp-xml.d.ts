// @xmpp/xml 0.14 ships no type declarations; this covers the part of its API (ltx's Element and the
// xml() factory) that Relais uses. Import Element from "@xmpp/xml", never from "ltx": @xmpp/xml loads
// ltx's CommonJS build, "ltx" resolves to its ESM build, and the two Element classes differ.
declare module "@xmpp/xml" {
  export type Node = Element | string;
  export type Attrs = Record<string, string | number | boolean | null | undefined>;

  export class Element {
    constructor(name: string, attrs?: Record<string, string> | string);
    name: string;
    parent: Element | null;
    children: Node[];
    attrs: Record<string, string>;

    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    findNS(prefix?: string): string | undefined;
    getXmlns(): Record<string, string>;
    setAttrs(attrs: Record<string, string> | string): void;
    getAttr(name: string, xmlns?: string): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildByAttr(attr: string, val: string, xmlns?: string, recursive?: boolean): Element | undefined;
    getChildrenByAttr(attr: string, val: string, xmlns?: string, recursive?: boolean): Element[];
    getChildrenByFilter(filter: (child: Node) => boolean, recursive?: boolean): Node[];
    getText(): string;
    getChildText(name: string, xmlns?: string): string | null;
    getChildElements(): Element[];
    root(): Element;
    up(): Element;
    c(name: string, attrs?: Record<string, string> | string): Element;
    cnode<T extends Node>(child: T): T;
    append(...nodes: Node[]): void;
    prepend(...nodes: Node[]): void;
    t(text: string): this;
    remove(el: Element | string, xmlns?: string): this;
    text(): string;
    text(val: string): this;
    attr(attr: string): string | undefined;
    attr(attr: string, val: string): this;
    toString(): string;
    write(writer: (chunk: string) => void): void;
  }

  export function createElement(name: string, attrs?: Attrs | string | null, ...children: unknown[]): Element;
  export function xml(name: string, attrs?: Attrs | string | null, ...children: unknown[]): Element;
  export function escapeXML(s: string): string;
  export function unescapeXML(s: string): string;
  export function escapeXMLText(s: string): string;
  export function unescapeXMLText(s: string): string;
  export class XMLError extends Error {}

  export default xml;
}
