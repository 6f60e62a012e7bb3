import { xml } from "@xmpp/xml";
import { describe, expect, it } from "vitest";
import {
  applyConfigForm,
  configForm,
  configFromStored,
  DEFAULT_CONFIG,
  FIELD_BASE_NAME,
  FIELD_UNITS,
  metadataForm,
  NS_NODE_CONFIG,
} from "../../shared/pubsub/config";
import { isFailure } from "../../shared/pubsub/errors";

const NODE = "urn:dev:prm:30001610071843_consumption/power/active/raw";
const submit = (fields: Record<string, string | string[]>) =>
  xml(
    "x",
    { xmlns: "jabber:x:data", type: "submit" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS_NODE_CONFIG)),
    ...Object.entries(fields).map(([v, values]) =>
      xml(
        "field",
        { var: v },
        ...(Array.isArray(values) ? values : [values]).map((x) => xml("value", {}, x)),
      ),
    ),
  );
const values = (form: ReturnType<typeof configForm>) =>
  Object.fromEntries(
    form.getChildren("field").map((f) => [f.attrs.var, f.getChildren("value").map((v) => v.getText())]),
  );

describe("node configuration form", () => {
  it("shows the current values, the base name defaulting to the node id", () => {
    const v = values(configForm(NODE, DEFAULT_CONFIG));
    expect(v.FORM_TYPE).toEqual([NS_NODE_CONFIG]);
    expect(v["pubsub#access_model"]).toEqual(["open"]);
    expect(v["pubsub#max_items"]).toEqual(["100"]);
    expect(v[FIELD_BASE_NAME]).toEqual([NODE]);
    expect(v[FIELD_UNITS]).toEqual([]);
  });

  it("applies a submitted form; fields left out keep their values", () => {
    const next = applyConfigForm(
      NODE,
      submit({
        "pubsub#title": "Puissance active",
        "pubsub#access_model": "authorize",
        "pubsub#max_items": "10",
        "pubsub#item_expire": "86400",
        [FIELD_UNITS]: ["W", "kWh"],
      }),
      DEFAULT_CONFIG,
    );
    expect(next).toEqual({
      ...DEFAULT_CONFIG,
      title: "Puissance active",
      accessModel: "authorize",
      maxItems: 10,
      itemExpire: 86400,
      units: ["W", "kWh"],
    });
  });

  it("refuses what it cannot honour, naming the field", () => {
    const refused = (fields: Record<string, string | string[]>) => {
      const r = applyConfigForm(NODE, submit(fields), DEFAULT_CONFIG);
      return isFailure(r) ? `${r.failure}: ${r.text}` : "accepted";
    };
    expect(refused({ "pubsub#max_items": "0" })).toMatch(/^bad-config: pubsub#max_items/);
    expect(refused({ "pubsub#max_items": "1001" })).toMatch(/^bad-config: pubsub#max_items/);
    expect(refused({ "pubsub#item_expire": "-5" })).toMatch(/^bad-config: pubsub#item_expire/);
    expect(refused({ "pubsub#access_model": "roster" })).toMatch(/^unsupported-access-model/);
    expect(refused({ "pubsub#access_model": "everyone" })).toMatch(/^bad-config: pubsub#access_model/);
    expect(refused({ [FIELD_UNITS]: "kwh" })).toMatch(/unknown unit 'kwh'.*kWh/);
    expect(refused({ [FIELD_BASE_NAME]: "-bad" })).toMatch(/is not a SenML name/);
    expect(refused({ "pubsub#deliver_payloads": "1" })).toMatch(/pubsub#deliver_payloads" is not supported/);
    expect(refused({ "pubsub#max_items": "max" })).toBe("accepted");
  });

  it("keeps the base name unset when it is the node id, and stores an explicit one", () => {
    const same = applyConfigForm(NODE, submit({ [FIELD_BASE_NAME]: NODE }), DEFAULT_CONFIG);
    expect(isFailure(same) ? same : same.senmlBaseName).toBeUndefined();
    const other = applyConfigForm(NODE, submit({ [FIELD_BASE_NAME]: "urn:dev:prm:1_" }), DEFAULT_CONFIG);
    expect(isFailure(other) ? other : other.senmlBaseName).toBe("urn:dev:prm:1_");
  });

  it("reads stored configurations back, defaults for what is missing", () => {
    expect(configFromStored(undefined)).toEqual(DEFAULT_CONFIG);
    const cfg = { ...DEFAULT_CONFIG, title: "t", units: ["W"], senmlBaseName: "x" };
    expect(configFromStored(JSON.parse(JSON.stringify(cfg)))).toEqual(cfg);
  });

  it("gives node metadata with owners and Relais fields", () => {
    const form = metadataForm({ node: NODE, config: DEFAULT_CONFIG, owners: ["o@a.test"], createdAt: 0 });
    const v = values(form);
    expect(form.attrs.type).toBe("result");
    expect(v.FORM_TYPE).toEqual(["http://jabber.org/protocol/pubsub#meta-data"]);
    expect(v["pubsub#owner"]).toEqual(["o@a.test"]);
    expect(v[FIELD_BASE_NAME]).toEqual([NODE]);
  });
});
