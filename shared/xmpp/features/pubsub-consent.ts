// Consent over XMPP (issue 8): a subscription to a stream of personal data waits for the data
// subject's consent. The subject gets XEP-0060's subscription authorisation form (8.6), carrying the
// consent's purpose, scope and duration in fields of Relais's namespace (Clark notation, XEP-0068 3.4),
// and answers it like an owner would; a withdrawal, or the list of one's consents, is an iq to the
// PubSub service in urn:relais:consent:0. One consent record for every door (shared/consent/store.ts).
import { type Element, xml } from "@xmpp/xml";
import type { SignedReceipt } from "../../consent/receipt";
import {
  type ConsentRecord,
  ConsentRuleError,
  consentRequestSchema,
  recipientKey,
} from "../../consent/record";
import {
  ConsentNotFound,
  changeConsent,
  consentsOfSubject,
  createConsent,
  getConsent,
} from "../../consent/store";
import { PURPOSE_CODES, type Purpose } from "../../consent/vocabulary";
import { pubsubServiceDomain } from "../../directory/domains";
import { formValues, type NodeConfig } from "../../pubsub/config";
import { fail, type PubsubFailure } from "../../pubsub/errors";
import { getSubscription, type NodeRecord, type Subscription } from "../../pubsub/store";
import { type IqFeature, iqKey } from "../iq/dispatch";
import { bareOf, type Jid, parseJid } from "../jid";
import { NS_DATA_FORMS } from "../namespaces";
import { route } from "../routing/router";
import type { Turn } from "../session/turn";
import { type Service, serviceOf, setSubscriptionState } from "./pubsub";

export const NS_CONSENT = "urn:relais:consent:0";
const NS_SUBSCRIBE_AUTHORIZATION = "http://jabber.org/protocol/pubsub#subscribe_authorization";
const f = (name: string) => `{${NS_CONSENT}}${name}`;
export const FIELD_CONSENT_ID = f("consent_id");
const FIELD_PURPOSE = f("purpose");
const FIELD_PURPOSE_TEXT = f("purpose_text");
const FIELD_VALID_DAYS = f("valid_days");
const FIELD_RETENTION_DAYS = f("retention_days");
const FIELD_NAMES = f("names");
const FIELD_LEGAL_BASIS = f("legal_basis");

export const isConsentField = (name: string): boolean => name.startsWith(`{${NS_CONSENT}}`);

/** Defaults of a request made by a bare subscribe, without consent fields in its options. */
const DEFAULTS = { purpose: "ServiceProvision" as Purpose, validDays: 365, retentionDays: 30 };

/** Whether subscribing `jid` to a node needs a consent: personal data, and not the subject's own. */
export function needsConsent(config: NodeConfig, jid: string): boolean {
  return config.dataSubject !== undefined && (jid.split("/")[0] ?? jid) !== config.dataSubject;
}

/** The consent request a subscription makes, from its options form (if any); a failure names the field. */
export async function requestFromSubscription(
  svc: Service,
  node: NodeRecord,
  jid: string,
  options: Element | undefined,
): Promise<
  { consentId: string; purposes: string; validDays: number; names?: readonly string[] } | PubsubFailure
> {
  // A form that is not a submitted one was refused already, by the subscription's own options check.
  const values = (options && formValues(options)) || new Map<string, string[]>();
  const one = (name: string) => values.get(name)?.[0];
  const purposeCodes = values.get(FIELD_PURPOSE) ?? [DEFAULTS.purpose];
  const parsed = consentRequestSchema.safeParse({
    subject: node.config.dataSubject,
    recipient: { kind: "jid", id: jid.split("/")[0] },
    scope: {
      streams: [{ service: svc.service, node: node.node }],
      ...(values.has(FIELD_NAMES) ? { names: values.get(FIELD_NAMES) } : {}),
    },
    purposes: purposeCodes.map((code) => ({
      code,
      ...(one(FIELD_PURPOSE_TEXT) ? { text: one(FIELD_PURPOSE_TEXT) } : {}),
    })),
    ...(one(FIELD_LEGAL_BASIS) ? { legalBasis: one(FIELD_LEGAL_BASIS) } : {}),
    retentionDays: Number(one(FIELD_RETENTION_DAYS) ?? DEFAULTS.retentionDays),
    validDays: Number(one(FIELD_VALID_DAYS) ?? DEFAULTS.validDays),
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") ?? "";
    return fail(
      "invalid-options",
      `consent: ${field}: ${issue?.message ?? "invalid"} (purposes: ${PURPOSE_CODES.join(", ")})`,
    );
  }
  try {
    const record = await createConsent(svc.tenantId, parsed.data, jid, "xmpp");
    return {
      consentId: record.consentId,
      purposes: record.purposes.map((p) => p.text ?? p.code).join("; "),
      validDays: record.validDays,
      ...(record.scope.names ? { names: record.scope.names } : {}),
    };
  } catch (err) {
    if (err instanceof ConsentRuleError)
      return fail("invalid-options", `consent: ${err.field ?? ""}: ${err.message}`);
    throw err;
  }
}

/** XEP-0060 8.6's form, sent to the data subject instead of the owners, with what is asked and why. */
export async function askSubject(
  svc: Service,
  node: NodeRecord,
  sub: Subscription,
  consent: { consentId: string; purposes: string; validDays: number; names?: readonly string[] },
  turn: Turn | undefined,
): Promise<void> {
  const subject = node.config.dataSubject;
  if (!subject) return;
  const field = (v: string, type: string, label: string | undefined, ...values: string[]) =>
    xml("field", { var: v, type, label }, ...values.map((value) => xml("value", {}, value)));
  await route(
    xml(
      "message",
      { from: svc.service, to: subject, id: consent.consentId },
      xml(
        "x",
        { xmlns: NS_DATA_FORMS, type: "form" },
        xml("title", {}, "Consent to share your data"),
        xml(
          "instructions",
          {},
          `${sub.jid} asks to receive the data of stream "${node.config.title || node.node}" for: ${consent.purposes}. Allow for ${consent.validDays} days (you may shorten it), or deny. You can withdraw it at any time.`,
        ),
        field("FORM_TYPE", "hidden", undefined, NS_SUBSCRIBE_AUTHORIZATION),
        field("pubsub#subid", "hidden", undefined, sub.subid),
        field("pubsub#node", "text-single", "Stream", node.node),
        field("pubsub#subscriber_jid", "jid-single", "Who asks", sub.jid),
        field(FIELD_CONSENT_ID, "hidden", undefined, consent.consentId),
        field(FIELD_PURPOSE, "text-single", "Purpose", consent.purposes),
        field(FIELD_VALID_DAYS, "text-single", "Valid for (days)", String(consent.validDays)),
        ...(consent.names
          ? [field(FIELD_NAMES, "text-multi", "Only these measurements", ...consent.names)]
          : []),
        field("pubsub#allow", "boolean", "Allow?", "false"),
      ),
    ),
    turn,
  );
}

/** The subject's answer: grant (the subscription becomes subscribed) or refuse (it is removed). */
export async function answerConsent(
  svc: Service,
  from: string,
  values: ReadonlyMap<string, string[]>,
  turn: Turn | undefined,
): Promise<void> {
  const consentId = values.get(FIELD_CONSENT_ID)?.[0] ?? "";
  const stored = await getConsent(consentId);
  // Only the subject answers, only a request still waiting, only on this tenant's service.
  if (!stored || stored.record.subject !== from || stored.record.state !== "requested") return;
  if (stored.record.tenantId !== svc.tenantId) return;
  const allow = values.get("pubsub#allow")?.[0];
  const granted = allow === "1" || allow === "true";
  const days = Number(values.get(FIELD_VALID_DAYS)?.[0] ?? stored.record.validDays);
  const domain = (await pubsubServiceDomain(svc.service))?.domain ?? svc.service;
  let result: Awaited<ReturnType<typeof changeConsent>>;
  try {
    result = await changeConsent(
      consentId,
      granted ? "granted" : "refused",
      {
        by: from,
        via: "xmpp",
        ...(granted && Number.isInteger(days) && days > 0 ? { validDays: days } : {}),
      },
      domain,
    );
  } catch (err) {
    if (err instanceof ConsentRuleError || err instanceof ConsentNotFound) return;
    throw err;
  }
  await applyToSubscriptions(result.record, turn);
  if (result.receipt) await sendReceipt(svc, from, result.receipt, turn);
}

/**
 * A consent decided through any door takes effect on the recipient's PubSub subscriptions: granted, a
 * subscription waiting for it becomes subscribed; refused or withdrawn, the recipient's subscriptions
 * to the streams in scope end (and the recipient hears so, XEP-0060 8.8.4).
 */
export async function applyToSubscriptions(record: ConsentRecord, turn?: Turn): Promise<void> {
  if (record.recipient.kind !== "jid") return;
  const state = record.state === "granted" ? "subscribed" : record.state === "requested" ? undefined : "none";
  if (!state) return;
  for (const s of record.scope.streams) {
    const svc = await serviceOf(parseJid(s.service) as Jid);
    if (!svc || svc.tenantId !== record.tenantId) continue;
    const existing = await getSubscription(s.service, s.node, record.recipient.id);
    // Granting approves a subscription that waits; it does not subscribe someone who never asked.
    if (state === "subscribed" && existing?.state !== "pending") continue;
    await setSubscriptionState(svc, s.node, record.recipient.id, state, turn);
  }
}

async function sendReceipt(svc: Service, to: string, receipt: SignedReceipt, turn: Turn | undefined) {
  await route(xml("message", { from: svc.service, to, type: "normal" }, receiptElement(receipt)), turn);
}

/** A signed receipt on the wire: its JSON as is (the signature is over its canonical JSON). */
const receiptElement = (receipt: SignedReceipt): Element =>
  xml("receipt", { xmlns: NS_CONSENT, consent: receipt.receipt.consentId }, JSON.stringify(receipt));

/** <withdraw consent="id"/>: the subject withdraws; the recipient's subscriptions end at once. */
async function withdraw(svc: Service, from: string, payload: Element, turn: Turn | undefined) {
  const consentId = String(payload.attrs.consent ?? "");
  const stored = await getConsent(consentId);
  if (!stored || stored.record.subject !== from || stored.record.tenantId !== svc.tenantId) {
    return { ok: false as const, condition: "item-not-found" as const, text: "no such consent of yours" };
  }
  const domain = (await pubsubServiceDomain(svc.service))?.domain ?? svc.service;
  try {
    const { record, receipt } = await changeConsent(
      consentId,
      "withdrawn",
      { by: from, via: "xmpp" },
      domain,
    );
    await applyToSubscriptions(record, turn);
    return { ok: true as const, payload: receipt ? receiptElement(receipt) : undefined };
  } catch (err) {
    if (err instanceof ConsentRuleError) {
      return { ok: false as const, condition: "not-allowed" as const, text: err.message };
    }
    throw err;
  }
}

/** <consents/>: the subject's consents, with their state now. */
async function list(svc: Service, from: string) {
  const all = await consentsOfSubject(svc.tenantId, from);
  return {
    ok: true as const,
    payload: xml(
      "consents",
      { xmlns: NS_CONSENT },
      ...all.map(({ record: r }) =>
        xml(
          "consent",
          {
            id: r.consentId,
            state: r.state,
            recipient: recipientKey(r.recipient),
            purposes: r.purposes.map((p) => p.code).join(" "),
            "legal-basis": r.legalBasis,
            "retention-days": String(r.retentionDays),
            "valid-from": r.validFrom,
            "valid-until": r.validUntil,
          },
          ...r.scope.streams.map((s) => xml("stream", { service: s.service, node: s.node })),
          ...(r.scope.names ?? []).map((n) => xml("name", {}, n)),
        ),
      ),
    ),
  };
}

export const consentFeature: IqFeature = {
  discoFeatures: [],
  handlers: {
    [iqKey("set", "host", NS_CONSENT, "withdraw")]: async (ctx) => {
      const svc = await serviceOf(ctx.to);
      if (!svc) return { ok: false, condition: "service-unavailable" };
      const from = bareOf(ctx.from);
      const out = await withdraw(svc, from, ctx.payload, ctx.turn);
      return out.ok ? (out.payload ? { ok: true, payload: out.payload } : { ok: true }) : out;
    },
    [iqKey("get", "host", NS_CONSENT, "consents")]: async (ctx) => {
      const svc = await serviceOf(ctx.to);
      if (!svc) return { ok: false, condition: "service-unavailable" };
      return list(svc, bareOf(ctx.from));
    },
  },
};
