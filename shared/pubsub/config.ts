// Node configuration (XEP-0060 8.2) as a data form (XEP-0004), and node metadata (XEP-0060 5.4). Pure.
// Relais's own fields (the SenML base name and units a stream carries) are in Clark notation in their own
// namespace, as XEP-0068 3.4 asks for fields added to a registered FORM_TYPE.
import { type Element, xml } from "@xmpp/xml";
import { unitProblem } from "../senml";
import { NS_DATA_FORMS } from "../xmpp/namespaces";
import { fail, type PubsubFailure } from "./errors";

export const NS_NODE_CONFIG = "http://jabber.org/protocol/pubsub#node_config";
export const NS_NODE_METADATA = "http://jabber.org/protocol/pubsub#meta-data";
export const NS_RELAIS_STREAM = "urn:relais:stream:0";
export const FIELD_BASE_NAME = `{${NS_RELAIS_STREAM}}senml_base_name`;
export const FIELD_UNITS = `{${NS_RELAIS_STREAM}}units`;
/** The person the stream's data is about: when set, only recipients with their consent get items. */
export const FIELD_DATA_SUBJECT = `{${NS_RELAIS_STREAM}}data_subject`;

export const ACCESS_MODELS = ["open", "presence", "authorize", "whitelist"] as const;
export type AccessModel = (typeof ACCESS_MODELS)[number];
/** XEP-0060 names the roster model too; this service does not offer it (no roster groups here). */
const KNOWN_BUT_UNSUPPORTED_ACCESS = ["roster"];

export type NotificationType = "normal" | "headline";

export interface NodeConfig {
  readonly title: string;
  readonly description: string;
  readonly accessModel: AccessModel;
  /** Items kept; publishing one more drops the oldest. */
  readonly maxItems: number;
  /** Seconds an item is kept after it was published (retention, enforced by TTL); 0: no time limit. */
  readonly itemExpire: number;
  readonly notificationType: NotificationType;
  /** SenML base name the stream's records carry; unset: the node id (see baseNameOf). */
  readonly senmlBaseName?: string;
  /** SenML units the stream's records may use; empty: any registered unit. */
  readonly units: readonly string[];
  /**
   * Bare JID of the person the stream's data is about (personal data, GDPR): deliveries to anyone
   * else need that person's valid consent (shared/consent). Unset: not personal data.
   */
  readonly dataSubject?: string;
}

export interface ConfigLimits {
  readonly maxItems: number;
  /** Longest retention a node may ask for, in seconds. */
  readonly maxItemExpire: number;
}

export const DEFAULT_LIMITS: ConfigLimits = { maxItems: 1000, maxItemExpire: 10 * 366 * 24 * 3600 };

export const DEFAULT_CONFIG: NodeConfig = {
  title: "",
  description: "",
  accessModel: "open",
  maxItems: 100,
  itemExpire: 0,
  notificationType: "headline",
  units: [],
};

/** The base name a node's records carry: the configured one, else the node id. */
export const baseNameOf = (node: string, config: NodeConfig): string => config.senmlBaseName ?? node;

const field = (v: string, type: string, label: string, values: readonly string[], options?: Element[]) =>
  xml(
    "field",
    { var: v, type, label },
    ...(options ?? []),
    ...values.map((value) => xml("value", {}, value)),
  );

const hidden = (formType: string) =>
  xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, formType));

/** The configuration form sent to an owner (type "form"), filled with the node's current values. */
export function configForm(node: string, config: NodeConfig, limits: ConfigLimits = DEFAULT_LIMITS): Element {
  const option = (value: string) => xml("option", { label: value }, xml("value", {}, value));
  return xml(
    "x",
    { xmlns: NS_DATA_FORMS, type: "form" },
    hidden(NS_NODE_CONFIG),
    field("pubsub#title", "text-single", "A friendly name for the node", [config.title]),
    field("pubsub#description", "text-single", "A description of the node", [config.description]),
    field(
      "pubsub#access_model",
      "list-single",
      "Who may subscribe and retrieve items",
      [config.accessModel],
      ACCESS_MODELS.map(option),
    ),
    field("pubsub#max_items", "text-single", `Max # of items to persist (at most ${limits.maxItems})`, [
      String(config.maxItems),
    ]),
    field("pubsub#item_expire", "text-single", "Number of seconds after which items expire (0: never)", [
      String(config.itemExpire),
    ]),
    field(
      "pubsub#notification_type",
      "list-single",
      "Message type of event notifications",
      [config.notificationType],
      ["normal", "headline"].map(option),
    ),
    field(FIELD_BASE_NAME, "text-single", "SenML base name of the stream's records", [
      baseNameOf(node, config),
    ]),
    field(FIELD_UNITS, "text-multi", "SenML units of the stream's records (empty: any)", config.units),
    field(
      FIELD_DATA_SUBJECT,
      "jid-single",
      "Whose personal data this is (deliveries then need their consent)",
      [config.dataSubject ?? ""],
    ),
  );
}

/** Values of a submitted form, by field var; undefined when `x` is not a submitted jabber:x:data form. */
export function formValues(x: Element): Map<string, string[]> | undefined {
  if (x.getNS() !== NS_DATA_FORMS || x.name !== "x" || x.attrs.type !== "submit") return undefined;
  const values = new Map<string, string[]>();
  for (const f of x.getChildren("field")) {
    const name = f.attrs.var;
    if (typeof name !== "string") continue;
    values.set(
      name,
      f.getChildren("value").map((v) => v.getText()),
    );
  }
  return values;
}

/**
 * The configuration after applying a submitted form to `current`: fields left out keep their values.
 * A field this service does not know, or a value it cannot honour, refuses the whole form (not-acceptable),
 * naming the field: a setting silently ignored would be a retention promise not kept.
 */
export function applyConfigForm(
  node: string,
  x: Element,
  current: NodeConfig,
  limits: ConfigLimits = DEFAULT_LIMITS,
): NodeConfig | PubsubFailure {
  // XEP-0004 3.2: a "cancel" form changes nothing.
  if (x.getNS() === NS_DATA_FORMS && x.attrs.type === "cancel") return current;
  const values = formValues(x);
  if (!values) return fail("bad-config", "the configuration must be a data form of type submit (XEP-0004)");
  const formType = values.get("FORM_TYPE")?.[0];
  if (formType !== undefined && formType !== NS_NODE_CONFIG) {
    return fail("bad-config", `FORM_TYPE must be ${NS_NODE_CONFIG}, not "${formType}"`);
  }
  let next: { -readonly [K in keyof NodeConfig]: NodeConfig[K] } = { ...current };
  for (const [name, vals] of values) {
    const one = vals[0] ?? "";
    switch (name) {
      case "FORM_TYPE":
        break;
      case "pubsub#title":
        if (one.length > 256) return fail("bad-config", "pubsub#title: at most 256 characters");
        next.title = one;
        break;
      case "pubsub#description":
        if (one.length > 2048) return fail("bad-config", "pubsub#description: at most 2048 characters");
        next.description = one;
        break;
      case "pubsub#access_model":
        if ((ACCESS_MODELS as readonly string[]).includes(one)) next.accessModel = one as AccessModel;
        else if (KNOWN_BUT_UNSUPPORTED_ACCESS.includes(one))
          return fail("unsupported-access-model", `the ${one} access model is not offered here`);
        else
          return fail(
            "bad-config",
            `pubsub#access_model: "${one}" is not one of ${ACCESS_MODELS.join(", ")}`,
          );
        break;
      case "pubsub#max_items": {
        const n = one === "max" ? limits.maxItems : integer(one);
        if (n === undefined || n < 1 || n > limits.maxItems) {
          return fail(
            "bad-config",
            `pubsub#max_items: "${one}" is not a whole number from 1 to ${limits.maxItems}`,
          );
        }
        next.maxItems = n;
        break;
      }
      case "pubsub#item_expire": {
        const n = one === "" ? 0 : integer(one);
        if (n === undefined || n < 0 || n > limits.maxItemExpire) {
          return fail(
            "bad-config",
            `pubsub#item_expire: "${one}" is not a number of seconds from 0 (never) to ${limits.maxItemExpire}`,
          );
        }
        next.itemExpire = n;
        break;
      }
      case "pubsub#notification_type":
        if (one !== "normal" && one !== "headline") {
          return fail("bad-config", `pubsub#notification_type: "${one}" is neither normal nor headline`);
        }
        next.notificationType = one;
        break;
      case FIELD_BASE_NAME: {
        if (one === "" || one === node) {
          const { senmlBaseName: _, ...rest } = next;
          next = rest;
          break;
        }
        if (one.length > 1000 || !/^[A-Za-z0-9][A-Za-z0-9\-:./_]*$/.test(one)) {
          return fail(
            "bad-config",
            `${FIELD_BASE_NAME}: "${one}" is not a SenML name: letters, digits and - : . / _, starting with a letter or digit (RFC 8428 section 4.5.1)`,
          );
        }
        next.senmlBaseName = one;
        break;
      }
      case FIELD_UNITS: {
        const units = vals.flatMap((v) => v.split(/[\s,]+/)).filter((u) => u !== "");
        for (const u of units) {
          const problem = unitProblem(u);
          if (problem) return fail("bad-config", `${FIELD_UNITS}: ${problem}`);
        }
        next.units = [...new Set(units)];
        break;
      }
      case FIELD_DATA_SUBJECT: {
        const jid = one.trim().toLowerCase();
        if (jid === "") {
          const { dataSubject: _, ...rest } = next;
          next = rest;
          break;
        }
        if (!/^[^@/\s]+@[^@/\s]+$/.test(jid)) {
          return fail("bad-config", `${FIELD_DATA_SUBJECT}: "${one}" is not a bare JID (name@domain)`);
        }
        next.dataSubject = jid;
        break;
      }
      default:
        return fail("bad-config", `field "${name}" is not supported by this service`);
    }
  }
  return next;
}

function integer(text: string): number | undefined {
  return /^\d{1,12}$/.test(text.trim()) ? Number(text.trim()) : undefined;
}

export interface NodeMetadata {
  readonly node: string;
  readonly config: NodeConfig;
  readonly owners: readonly string[];
  readonly createdAt: number;
}

/** XEP-0060 5.4: the node's metadata form (type "result") for disco#info on the node. */
export function metadataForm(meta: NodeMetadata): Element {
  const { node, config } = meta;
  return xml(
    "x",
    { xmlns: NS_DATA_FORMS, type: "result" },
    hidden(NS_NODE_METADATA),
    field("pubsub#title", "text-single", "A short name for the node", [config.title]),
    field("pubsub#description", "text-single", "A description of the node", [config.description]),
    field("pubsub#owner", "jid-multi", "Node owners", meta.owners),
    field("pubsub#creation_date", "text-single", "Creation date", [new Date(meta.createdAt).toISOString()]),
    field("pubsub#access_model", "list-single", "Access model", [config.accessModel]),
    field("pubsub#max_items", "text-single", "Max # of items kept", [String(config.maxItems)]),
    field("pubsub#item_expire", "text-single", "Seconds items are kept (0: no limit)", [
      String(config.itemExpire),
    ]),
    field("pubsub#type", "text-single", "Payload type", ["urn:ietf:params:xml:ns:senml"]),
    field(FIELD_BASE_NAME, "text-single", "SenML base name", [baseNameOf(node, config)]),
    field(FIELD_UNITS, "text-multi", "SenML units", config.units),
    ...(config.dataSubject
      ? [field(FIELD_DATA_SUBJECT, "jid-single", "Personal data of (consent needed)", [config.dataSubject])]
      : []),
  );
}

/** A stored configuration read back: unknown or missing attributes take the defaults. */
export function configFromStored(raw: unknown): NodeConfig {
  const r = (typeof raw === "object" && raw !== null ? raw : {}) as Record<string, unknown>;
  const str = (v: unknown, d: string) => (typeof v === "string" ? v : d);
  const num = (v: unknown, d: number) => (typeof v === "number" && Number.isFinite(v) ? v : d);
  const access = str(r.accessModel, DEFAULT_CONFIG.accessModel);
  const config: NodeConfig = {
    title: str(r.title, ""),
    description: str(r.description, ""),
    accessModel: (ACCESS_MODELS as readonly string[]).includes(access)
      ? (access as AccessModel)
      : "whitelist",
    maxItems: num(r.maxItems, DEFAULT_CONFIG.maxItems),
    itemExpire: num(r.itemExpire, DEFAULT_CONFIG.itemExpire),
    notificationType: r.notificationType === "normal" ? "normal" : "headline",
    units: Array.isArray(r.units) ? r.units.filter((u): u is string => typeof u === "string") : [],
  };
  return {
    ...config,
    ...(typeof r.senmlBaseName === "string" ? { senmlBaseName: r.senmlBaseName } : {}),
    ...(typeof r.dataSubject === "string" ? { dataSubject: r.dataSubject } : {}),
  };
}
