// XEP-0060 Publish-Subscribe: each hosted domain's service pubsub.<domain>, whose nodes are the tenant's
// data streams (SenML packs in items). This module parses requests, gathers facts from the store and the
// directory, asks rules.ts for the decision and carries it out; the fan-out pipeline delivers notifications.
import { randomUUID } from "node:crypto";
import { type Element, xml } from "@xmpp/xml";
import { minimise } from "../../consent/enforce";
import { eraseStream } from "../../consent/erase";
import { consentVerdict } from "../../consent/store";
import { hostedDomain, pubsubServiceDomain, pubsubServiceOf } from "../../directory/domains";
import { loadRoster } from "../../directory/rosters";
import {
  applyConfigForm,
  configForm,
  DEFAULT_CONFIG,
  formValues,
  metadataForm,
  type NodeConfig,
} from "../../pubsub/config";
import { fail, isFailure, type PubsubFailure, pubsubErrorReply } from "../../pubsub/errors";
import { publishPack } from "../../pubsub/publish";
import {
  type Affiliation,
  changeAffiliations,
  isAffiliation,
  mayCreate,
  mayDiscover,
  mayOwn,
  mayPublish,
  mayRetrieve,
  nodeIdProblem,
  type RequesterFacts,
  subscribeOutcome,
  subscriberJid,
} from "../../pubsub/rules";
import * as store from "../../pubsub/store";
import type { IqContext, IqFeature, IqHandler, IqReply } from "../iq/dispatch";
import { iqKey } from "../iq/dispatch";
import { bareOf, fullOf, type Jid, parseJid } from "../jid";
import {
  NS_DATA_FORMS,
  NS_DISCO_INFO,
  NS_DISCO_ITEMS,
  NS_PUBSUB,
  NS_PUBSUB_EVENT,
  NS_PUBSUB_OWNER,
} from "../namespaces";
import { route } from "../routing/router";
import type { Turn } from "../session/turn";
import { parseStored } from "../stored-xml";
import type { DiscoService } from "./disco";
import {
  answerConsent,
  askSubject,
  FIELD_CONSENT_ID,
  isConsentField,
  needsConsent,
  requestFromSubscription,
} from "./pubsub-consent";

const NS_SUBSCRIBE_OPTIONS = "http://jabber.org/protocol/pubsub#subscribe_options";
const NS_SUBSCRIBE_AUTHORIZATION = "http://jabber.org/protocol/pubsub#subscribe_authorization";

/** XEP-0060 features this service implements (disco#info of the service). */
const FEATURES = [
  "access-authorize",
  "access-open",
  "access-presence",
  "access-whitelist",
  "config-node",
  "create-and-configure",
  "create-nodes",
  "delete-items",
  "delete-nodes",
  "instant-nodes",
  "item-ids",
  "manage-subscriptions",
  "member-affiliation",
  "meta-data",
  "modify-affiliations",
  "outcast-affiliation",
  "persistent-items",
  "publish",
  "publisher-affiliation",
  "retract-items",
  "retrieve-affiliations",
  "retrieve-default",
  "retrieve-items",
  "retrieve-subscriptions",
  "subscribe",
  "subscription-notifications",
  "subscription-options",
].map((f) => `${NS_PUBSUB}#${f}`);

export interface Service {
  /** The service JID, pubsub.<domain>. */
  readonly service: string;
  readonly tenantId: string;
}

interface Requester {
  readonly bare: string;
  readonly full: string;
  readonly sameTenant: boolean;
}

type Outcome = Element | undefined | PubsubFailure;

export async function serviceOf(to: Jid): Promise<Service | undefined> {
  if (to.local || to.resource) return undefined;
  const hosted = await pubsubServiceDomain(to.domain);
  return hosted ? { service: to.domain, tenantId: hosted.tenantId } : undefined;
}

async function requesterOf(from: Jid, svc: Service): Promise<Requester> {
  const home = await hostedDomain(from.domain);
  return { bare: bareOf(from), full: fullOf(from), sameTenant: home?.tenantId === svc.tenantId };
}

async function factsOf(svc: Service, node: store.NodeRecord, who: Requester): Promise<RequesterFacts> {
  const [affiliation, subs] = await Promise.all([
    store.getAffiliation(svc.service, node.node, who.bare),
    store.subscriptionsOf(svc.service, node.node, who.bare),
  ]);
  const subscription = subs.some((s) => s.state === "subscribed")
    ? "subscribed"
    : subs.some((s) => s.state === "pending")
      ? "pending"
      : undefined;
  const presenceSubscribed =
    node.config.accessModel === "presence" && affiliation === "none" && who.sameTenant
      ? await receivesOwnerPresence(svc, node.node, who.bare)
      : false;
  return { affiliation, subscription, presenceSubscribed, sameTenant: who.sameTenant };
}

/** Whether an owner's roster sends its presence to `bare` (subscription from or both). */
async function receivesOwnerPresence(svc: Service, node: string, bare: string): Promise<boolean> {
  const affiliations = await store.listAffiliations(svc.service, node);
  for (const [jid, a] of affiliations) {
    if (a !== "owner") continue;
    const roster = await loadRoster(jid);
    if (roster.some((i) => i.jid === bare && (i.subscription === "from" || i.subscription === "both")))
      return true;
  }
  return false;
}

/** The node a request names, or the failure to answer with. */
async function nodeNamed(svc: Service, el: Element): Promise<store.NodeRecord | PubsubFailure> {
  const id = el.attrs.node as string | undefined;
  const problem = nodeIdProblem(id);
  if (problem) return problem;
  return (await store.getNode(svc.service, id as string)) ?? fail("node-not-found", "no such node");
}

/** Wraps a handler of the service: a request to any other JID with this payload is not ours to answer. */
function serviceHandler(body: (ctx: IqContext, svc: Service, who: Requester) => Promise<Outcome>): IqHandler {
  return async (ctx) => {
    const svc = await serviceOf(ctx.to);
    if (!svc) return { ok: false, condition: "service-unavailable" };
    const out = await body(ctx, svc, await requesterOf(ctx.from, svc));
    return toReply(ctx.iq, out);
  };
}

function toReply(iq: Element, out: Outcome): IqReply {
  if (isFailure(out)) return { ok: "built", reply: pubsubErrorReply(iq, out) };
  return out ? { ok: true, payload: out } : { ok: true };
}

const pubsub = (ns: string, ...children: Element[]) => xml("pubsub", { xmlns: ns }, ...children);

/** The one child of <pubsub/> that names the action (options and configure may come beside one). */
function action(payload: Element, names: readonly string[]): Element | undefined {
  return payload.getChildElements().find((c) => names.includes(c.name));
}

// ---- the entity use cases (pubsub namespace)

async function userSet(ctx: IqContext, svc: Service, who: Requester): Promise<Outcome> {
  const el = action(ctx.payload, ["create", "publish", "retract", "subscribe", "unsubscribe", "options"]);
  switch (el?.name) {
    case "create":
      return create(ctx.payload, el, svc, who);
    case "publish":
      return publish(ctx.payload, el, svc, who);
    case "retract":
      return retract(el, svc, who);
    case "subscribe":
      return subscribe(ctx.payload, el, svc, who, ctx.turn);
    case "unsubscribe":
      return unsubscribe(el, svc, who);
    case "options":
      return setOptions(el, svc, who);
    default:
      return fail("bad-request", "no PubSub action this service understands in the request");
  }
}

async function userGet(ctx: IqContext, svc: Service, who: Requester): Promise<Outcome> {
  const el = action(ctx.payload, ["items", "options", "subscriptions", "affiliations", "default"]);
  switch (el?.name) {
    case "items":
      return items(el, svc, who);
    case "options":
      return getOptions(el, svc, who);
    case "subscriptions":
      return ownSubscriptions(el, svc, who);
    case "affiliations":
      return ownAffiliations(el, svc, who);
    case "default":
      return pubsub(NS_PUBSUB, xml("default", {}, subscribeOptionsForm(true)));
    default:
      return fail("bad-request", "no PubSub action this service understands in the request");
  }
}

async function create(payload: Element, el: Element, svc: Service, who: Requester): Promise<Outcome> {
  const refused = mayCreate(who.sameTenant);
  if (refused) return refused;
  const instant = el.attrs.node === undefined || el.attrs.node === "";
  const node = instant ? randomUUID() : (el.attrs.node as string);
  const problem = nodeIdProblem(node);
  if (problem) return problem;
  let config: NodeConfig = DEFAULT_CONFIG;
  const form = payload.getChild("configure")?.getChild("x", NS_DATA_FORMS);
  if (form) {
    const applied = applyConfigForm(node, form, config);
    if (isFailure(applied)) return applied;
    config = applied;
  }
  const created = await store.createNode(
    { service: svc.service, node, tenantId: svc.tenantId, config, createdAt: Date.now() },
    who.bare,
  );
  if (!created) return fail("node-exists", "a node with this id exists already");
  // XEP-0060 8.1.2: the id is returned when the service chose it.
  return instant ? pubsub(NS_PUBSUB, xml("create", { node })) : undefined;
}

async function publish(payload: Element, el: Element, svc: Service, who: Requester): Promise<Outcome> {
  if (payload.getChild("publish-options")) {
    return fail("unsupported", "publish-options are not supported", "publish-options");
  }
  const node = await nodeNamed(svc, el);
  if (isFailure(node)) return node;
  const refused = mayPublish({ affiliation: await store.getAffiliation(svc.service, node.node, who.bare) });
  if (refused) return refused;
  const itemEls = el.getChildren("item");
  if (itemEls.length === 0) return fail("item-required", "a publish carries one <item/> with a SenML pack");
  if (itemEls.length > 1) return fail("bad-request", "publish one item per request");
  const item = itemEls[0] as Element;
  const children = item.getChildElements();
  if (children.length === 0) return fail("payload-required", "the item carries no payload");
  if (children.length > 1) return fail("invalid-payload", "an item carries exactly one <sensml/> element");
  const out = await publishPack({
    node,
    sensml: children[0] as Element,
    itemId: item.attrs.id as string | undefined,
    publisher: who.bare,
  });
  if (!out.ok) return out.failure;
  return pubsub(NS_PUBSUB, xml("publish", { node: node.node }, xml("item", { id: out.itemId })));
}

async function retract(el: Element, svc: Service, who: Requester): Promise<Outcome> {
  const node = await nodeNamed(svc, el);
  if (isFailure(node)) return node;
  const refused = mayPublish({ affiliation: await store.getAffiliation(svc.service, node.node, who.bare) });
  if (refused) return refused;
  const ids = el.getChildren("item").map((i) => i.attrs.id as string | undefined);
  if (ids.length === 0 || ids.some((id) => !id))
    return fail("item-required", "name the item to retract by its id");
  for (const id of ids) {
    if (!(await store.deleteItem(svc.service, node.node, id as string)))
      return fail("item-not-found", `no item "${id}" in this node`);
  }
  return undefined;
}

async function subscribe(
  payload: Element,
  el: Element,
  svc: Service,
  who: Requester,
  turn: Turn | undefined,
): Promise<Outcome> {
  const node = await nodeNamed(svc, el);
  if (isFailure(node)) return node;
  const jid = subscriberJid(who.bare, el.attrs.jid as string | undefined);
  if (isFailure(jid)) return jid;
  const facts = await factsOf(svc, node, who);
  const existing = await store.getSubscription(svc.service, node.node, jid);
  if (existing?.state === "subscribed") return subscriptionReply(node.node, existing);
  const outcome = subscribeOutcome(node.config, { ...facts, subscription: existing?.state });
  if (isFailure(outcome)) return outcome;
  const optionsForm = payload.getChild("options")?.getChild("x", NS_DATA_FORMS);
  const deliver = optionsForm ? deliverOption(optionsForm) : true;
  if (isFailure(deliver)) return deliver;
  // Personal data: whoever the access model lets in still waits for the data subject's consent.
  const personal = needsConsent(node.config, jid);
  const consent = personal ? await requestFromSubscription(svc, node, jid, optionsForm) : undefined;
  if (isFailure(consent)) return consent;
  const sub: store.Subscription = {
    jid,
    subid: existing?.subid ?? randomUUID(),
    state: consent ? "pending" : outcome.state,
    deliver,
  };
  await store.putSubscription(svc.service, node.node, sub);
  if (consent) await askSubject(svc, node, sub, consent, turn);
  else if (outcome.state === "pending") await askOwners(svc, node.node, sub, turn);
  return subscriptionReply(node.node, sub);
}

const subscriptionReply = (node: string, sub: store.Subscription) =>
  pubsub(NS_PUBSUB, xml("subscription", { node, jid: sub.jid, subid: sub.subid, subscription: sub.state }));

/** XEP-0060 8.6: each owner gets a form to approve or deny the pending subscription. */
async function askOwners(svc: Service, node: string, sub: store.Subscription, turn: Turn | undefined) {
  const affiliations = await store.listAffiliations(svc.service, node);
  for (const [owner, a] of affiliations) {
    if (a !== "owner") continue;
    const field = (v: string, type: string, label: string | undefined, value: string) =>
      xml("field", { var: v, type, label }, xml("value", {}, value));
    await route(
      xml(
        "message",
        { from: svc.service, to: owner, id: randomUUID() },
        xml(
          "x",
          { xmlns: NS_DATA_FORMS, type: "form" },
          xml("title", {}, "PubSub subscriber request"),
          xml(
            "instructions",
            {},
            "To approve this entity's subscription request, click the OK button. To deny the request, click the cancel button.",
          ),
          field("FORM_TYPE", "hidden", undefined, NS_SUBSCRIBE_AUTHORIZATION),
          field("pubsub#subid", "hidden", undefined, sub.subid),
          field("pubsub#node", "text-single", "Node ID", node),
          field("pubsub#subscriber_jid", "jid-single", "Subscriber Address", sub.jid),
          field("pubsub#allow", "boolean", "Allow this JID to subscribe to this pubsub node?", "false"),
        ),
      ),
      turn,
    );
  }
}

/** XEP-0060 8.8.4 / 8.6: the subscriber hears that its subscription changed. */
async function notifySubscriptionState(
  svc: Service,
  node: string,
  jid: string,
  state: "subscribed" | "none",
  subid: string | undefined,
  turn: Turn | undefined,
) {
  await route(
    xml(
      "message",
      { from: svc.service, to: jid, id: randomUUID() },
      xml(
        "event",
        { xmlns: NS_PUBSUB_EVENT },
        xml("subscription", { node, jid, subscription: state, subid: state === "none" ? undefined : subid }),
      ),
    ),
    turn,
  );
}

async function unsubscribe(el: Element, svc: Service, who: Requester): Promise<Outcome> {
  const node = await nodeNamed(svc, el);
  if (isFailure(node)) return node;
  const jid = subscriberJid(who.bare, el.attrs.jid as string | undefined);
  if (isFailure(jid))
    return jid.failure === "invalid-jid" && el.attrs.jid ? fail("jid-mismatch", jid.text) : jid;
  const existing = await store.getSubscription(svc.service, node.node, jid);
  if (!existing) return fail("not-subscribed", "this JID has no subscription to the node");
  if (el.attrs.subid && el.attrs.subid !== existing.subid)
    return fail("invalid-subid", "no subscription with this subid");
  await store.deleteSubscription(svc.service, node.node, jid);
  return undefined;
}

function subscribeOptionsForm(deliver: boolean): Element {
  return xml(
    "x",
    { xmlns: NS_DATA_FORMS, type: "form" },
    xml("field", { var: "FORM_TYPE", type: "hidden" }, xml("value", {}, NS_SUBSCRIBE_OPTIONS)),
    xml(
      "field",
      { var: "pubsub#deliver", type: "boolean", label: "Enable delivery?" },
      xml("value", {}, deliver ? "true" : "false"),
    ),
  );
}

function deliverOption(x: Element): boolean | PubsubFailure {
  const values = formValues(x);
  if (!values) return fail("invalid-options", "subscription options are a data form of type submit");
  let deliver = true;
  for (const [name, vals] of values) {
    if (name === "FORM_TYPE" || isConsentField(name)) continue;
    if (name !== "pubsub#deliver") return fail("invalid-options", `option "${name}" is not supported`);
    const v = vals[0] ?? "";
    if (v === "1" || v === "true") deliver = true;
    else if (v === "0" || v === "false") deliver = false;
    else return fail("invalid-options", `pubsub#deliver: "${v}" is not a boolean`);
  }
  return deliver;
}

async function optionsTarget(
  el: Element,
  svc: Service,
  who: Requester,
): Promise<{ node: store.NodeRecord; sub: store.Subscription } | PubsubFailure> {
  const node = await nodeNamed(svc, el);
  if (isFailure(node)) return node;
  const jid = subscriberJid(who.bare, el.attrs.jid as string | undefined);
  if (isFailure(jid))
    return jid.failure === "invalid-jid" && el.attrs.jid ? fail("jid-mismatch", jid.text) : jid;
  const sub = await store.getSubscription(svc.service, node.node, jid);
  if (!sub) return fail("not-subscribed", "this JID has no subscription to the node");
  if (el.attrs.subid && el.attrs.subid !== sub.subid)
    return fail("invalid-subid", "no subscription with this subid");
  return { node, sub };
}

async function getOptions(el: Element, svc: Service, who: Requester): Promise<Outcome> {
  const t = await optionsTarget(el, svc, who);
  if (isFailure(t)) return t;
  return pubsub(
    NS_PUBSUB,
    xml(
      "options",
      { node: t.node.node, jid: t.sub.jid, subid: t.sub.subid },
      subscribeOptionsForm(t.sub.deliver),
    ),
  );
}

async function setOptions(el: Element, svc: Service, who: Requester): Promise<Outcome> {
  const t = await optionsTarget(el, svc, who);
  if (isFailure(t)) return t;
  const x = el.getChild("x", NS_DATA_FORMS);
  if (!x) return fail("invalid-options", "the options form is missing");
  const deliver = deliverOption(x);
  if (isFailure(deliver)) return deliver;
  await store.putSubscription(svc.service, t.node.node, { ...t.sub, deliver });
  return undefined;
}

const MAX_ITEMS_PER_REQUEST = 1000;

async function items(el: Element, svc: Service, who: Requester): Promise<Outcome> {
  const node = await nodeNamed(svc, el);
  if (isFailure(node)) return node;
  const refused = mayRetrieve(node.config, await factsOf(svc, node, who));
  if (refused) return refused;
  // Personal data is retrieved under the same rule as it is delivered: the subject's consent, valid
  // now, and only the names it covers.
  const subject = node.config.dataSubject;
  const verdict = await consentVerdict(svc.service, node.node, subject, who.bare);
  if (!verdict.allowed) {
    return fail(
      "consent-required",
      `the data subject's consent is needed to read this stream (${verdict.reason})`,
    );
  }
  const view = (i: store.StoredItem) => {
    const stored = parseStored(i.payload);
    return verdict.names ? minimise(stored, verdict.names, i.publishedAt) : stored;
  };
  const ids = el.getChildren("item").map((i) => i.attrs.id as string | undefined);
  let found: store.StoredItem[];
  if (ids.length > 0) {
    if (ids.some((id) => !id)) return fail("bad-request", "each <item/> asked for names its id");
    const got = await Promise.all(ids.map((id) => store.getItem(svc.service, node.node, id as string)));
    found = got.filter((i): i is store.StoredItem => i !== undefined);
  } else {
    const maxAttr = el.attrs.max_items as string | undefined;
    const max = maxAttr === undefined ? MAX_ITEMS_PER_REQUEST : Number(maxAttr);
    if (!Number.isInteger(max) || max < 1) return fail("bad-request", "max_items is a positive whole number");
    // Newest first from the store; XEP-0060 6.5.7 returns them in publish order.
    found = (await store.latestItems(svc.service, node.node, Math.min(max, MAX_ITEMS_PER_REQUEST))).reverse();
  }
  return pubsub(
    NS_PUBSUB,
    xml(
      "items",
      { node: node.node },
      ...found.flatMap((i) => {
        const payload = view(i);
        return payload ? [xml("item", { id: i.itemId, publisher: i.publisher }, payload)] : [];
      }),
    ),
  );
}

async function ownSubscriptions(el: Element, svc: Service, who: Requester): Promise<Outcome> {
  const nodeId = el.attrs.node as string | undefined;
  const nodes = nodeId ? [nodeId] : (await store.listNodes(svc.service)).map((n) => n.node);
  const out: Element[] = [];
  for (const n of nodes) {
    for (const s of await store.subscriptionsOf(svc.service, n, who.bare)) {
      out.push(xml("subscription", { node: n, jid: s.jid, subid: s.subid, subscription: s.state }));
    }
  }
  return pubsub(NS_PUBSUB, xml("subscriptions", { node: nodeId }, ...out));
}

async function ownAffiliations(el: Element, svc: Service, who: Requester): Promise<Outcome> {
  const nodeId = el.attrs.node as string | undefined;
  const mine = (await store.affiliationsOf(who.bare)).filter(
    (a) => a.service === svc.service && (nodeId === undefined || a.node === nodeId),
  );
  return pubsub(
    NS_PUBSUB,
    xml(
      "affiliations",
      { node: nodeId },
      ...mine.map((a) => xml("affiliation", { node: a.node, affiliation: a.affiliation })),
    ),
  );
}

// ---- the owner use cases (pubsub#owner namespace)

async function ownerGet(ctx: IqContext, svc: Service, who: Requester): Promise<Outcome> {
  const el = action(ctx.payload, ["configure", "default", "subscriptions", "affiliations"]);
  if (el?.name === "default")
    return pubsub(NS_PUBSUB_OWNER, xml("default", {}, configForm("", DEFAULT_CONFIG)));
  if (!el) return fail("bad-request", "no owner action this service understands in the request");
  const node = await ownedNode(svc, el, who);
  if (isFailure(node)) return node;
  switch (el.name) {
    case "configure":
      return pubsub(
        NS_PUBSUB_OWNER,
        xml("configure", { node: node.node }, configForm(node.node, node.config)),
      );
    case "subscriptions": {
      const subs = await store.listSubscriptions(svc.service, node.node);
      return pubsub(
        NS_PUBSUB_OWNER,
        xml(
          "subscriptions",
          { node: node.node },
          ...subs.map((s) => xml("subscription", { jid: s.jid, subscription: s.state, subid: s.subid })),
        ),
      );
    }
    default: {
      const affs = await store.listAffiliations(svc.service, node.node);
      return pubsub(
        NS_PUBSUB_OWNER,
        xml(
          "affiliations",
          { node: node.node },
          ...[...affs].map(([jid, affiliation]) => xml("affiliation", { jid, affiliation })),
        ),
      );
    }
  }
}

async function ownerSet(ctx: IqContext, svc: Service, who: Requester): Promise<Outcome> {
  const el = action(ctx.payload, ["configure", "delete", "purge", "subscriptions", "affiliations"]);
  if (!el) return fail("bad-request", "no owner action this service understands in the request");
  const node = await ownedNode(svc, el, who);
  if (isFailure(node)) return node;
  switch (el.name) {
    case "configure": {
      const x = el.getChild("x", NS_DATA_FORMS);
      if (!x) return fail("bad-config", "the configuration form is missing");
      const config = applyConfigForm(node.node, x, node.config);
      if (isFailure(config)) return config;
      await store.saveConfig(svc.service, node.node, config);
      if (config.maxItems < node.config.maxItems)
        await store.trimItems(svc.service, node.node, config.maxItems);
      return undefined;
    }
    case "delete": {
      const subs = await store.listSubscriptions(svc.service, node.node);
      await store.deleteNode(svc.service, node.node);
      await eraseStream(svc.tenantId, svc.service, node.node);
      // XEP-0060 8.4.2: subscribers hear that the node is gone.
      for (const s of subs) {
        if (s.state !== "subscribed") continue;
        await route(
          xml(
            "message",
            { from: svc.service, to: s.jid, id: randomUUID() },
            xml("event", { xmlns: NS_PUBSUB_EVENT }, xml("delete", { node: node.node })),
          ),
          ctx.turn,
        );
      }
      return undefined;
    }
    case "purge": {
      for (const i of await store.latestItems(svc.service, node.node))
        await store.deleteItem(svc.service, node.node, i.itemId);
      return undefined;
    }
    case "subscriptions":
      return manageSubscriptions(el, svc, node, ctx.turn);
    default:
      return manageAffiliations(el, svc, node);
  }
}

async function ownedNode(
  svc: Service,
  el: Element,
  who: Requester,
): Promise<store.NodeRecord | PubsubFailure> {
  const node = await nodeNamed(svc, el);
  if (isFailure(node)) return node;
  const refused = mayOwn({ affiliation: await store.getAffiliation(svc.service, node.node, who.bare) });
  return refused ?? node;
}

/** XEP-0060 8.8.2: the owner sets subscriptions (approving a pending one makes it subscribed). */
async function manageSubscriptions(
  el: Element,
  svc: Service,
  node: store.NodeRecord,
  turn: Turn | undefined,
): Promise<Outcome> {
  const changes: { jid: string; state: "subscribed" | "none" }[] = [];
  for (const s of el.getChildren("subscription")) {
    const jid = parseJid(String(s.attrs.jid ?? ""));
    const state = s.attrs.subscription;
    if (!jid) return fail("invalid-jid", `"${s.attrs.jid ?? ""}" is not a valid JID`);
    if (state !== "subscribed" && state !== "none") {
      return fail("bad-request", `subscription "${state ?? ""}": an owner sets subscribed or none`);
    }
    changes.push({ jid: fullOf(jid), state });
  }
  for (const c of changes) await setSubscriptionState(svc, node.node, c.jid, c.state, turn);
  return undefined;
}

export async function setSubscriptionState(
  svc: Service,
  node: string,
  jid: string,
  state: "subscribed" | "none",
  turn: Turn | undefined,
): Promise<void> {
  const existing = await store.getSubscription(svc.service, node, jid);
  if (state === "none") {
    if (!existing) return;
    await store.deleteSubscription(svc.service, node, jid);
    await notifySubscriptionState(svc, node, jid, "none", undefined, turn);
    return;
  }
  if (existing?.state === "subscribed") return;
  const sub: store.Subscription = {
    jid,
    subid: existing?.subid ?? randomUUID(),
    state: "subscribed",
    deliver: existing?.deliver ?? true,
  };
  await store.putSubscription(svc.service, node, sub);
  await notifySubscriptionState(svc, node, jid, "subscribed", sub.subid, turn);
}

/** XEP-0060 8.9.2: the owner sets affiliations; an outcast loses its subscriptions. */
async function manageAffiliations(el: Element, svc: Service, node: store.NodeRecord): Promise<Outcome> {
  const changes: { jid: string; affiliation: Affiliation }[] = [];
  for (const a of el.getChildren("affiliation")) {
    const jid = parseJid(String(a.attrs.jid ?? ""));
    const affiliation = String(a.attrs.affiliation ?? "");
    if (!jid) return fail("invalid-jid", `"${a.attrs.jid ?? ""}" is not a valid JID`);
    if (!isAffiliation(affiliation)) return fail("bad-request", `"${affiliation}" is not an affiliation`);
    changes.push({ jid: bareOf(jid), affiliation });
  }
  const before = await store.listAffiliations(svc.service, node.node);
  const after = changeAffiliations(before, changes);
  if (isFailure(after)) return after;
  await store.replaceAffiliations(svc.service, node.node, before, after);
  for (const c of changes) {
    if (c.affiliation !== "outcast") continue;
    for (const s of await store.subscriptionsOf(svc.service, node.node, c.jid))
      await store.deleteSubscription(svc.service, node.node, s.jid);
  }
  return undefined;
}

// ---- the owner's answer to a subscription authorization form (a message to the service)

/** XEP-0060 8.6: an owner submits the authorization form; allow makes the subscription subscribed. */
export async function handlePubsubMessage(stanza: Element, to: Jid, turn: Turn | undefined): Promise<void> {
  if (stanza.attrs.type === "error") return;
  const svc = await serviceOf(to);
  const from = stanza.attrs.from ? parseJid(String(stanza.attrs.from)) : undefined;
  const x = stanza.getChild("x", NS_DATA_FORMS);
  if (!svc || !from || !x) return;
  const values = formValues(x);
  if (!values || values.get("FORM_TYPE")?.[0] !== NS_SUBSCRIBE_AUTHORIZATION) return;
  if (values.has(FIELD_CONSENT_ID)) return answerConsent(svc, bareOf(from), values, turn);
  const nodeId = values.get("pubsub#node")?.[0];
  const subscriber = parseJid(values.get("pubsub#subscriber_jid")?.[0] ?? "");
  const allow = values.get("pubsub#allow")?.[0];
  if (!nodeId || !subscriber) return;
  const node = await store.getNode(svc.service, nodeId);
  if (!node || (await store.getAffiliation(svc.service, nodeId, bareOf(from))) !== "owner") return;
  const jid = fullOf(subscriber);
  const existing = await store.getSubscription(svc.service, nodeId, jid);
  // Only a request still waiting is answered: an old form must not resurrect a removed subscription.
  if (existing?.state !== "pending") return;
  const subid = values.get("pubsub#subid")?.[0];
  if (subid && subid !== existing.subid) return;
  await setSubscriptionState(
    svc,
    nodeId,
    jid,
    allow === "1" || allow === "true" ? "subscribed" : "none",
    turn,
  );
}

// ---- discovery

export const pubsubDisco: DiscoService = {
  async info(ctx) {
    const svc = await serviceOf(ctx.to);
    if (!svc) return undefined;
    const nodeId = ctx.payload.attrs.node as string | undefined;
    if (!nodeId) {
      return {
        ok: true,
        payload: xml(
          "query",
          { xmlns: NS_DISCO_INFO },
          xml("identity", { category: "pubsub", type: "service", name: "Relais data streams" }),
          ...[NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PUBSUB, ...FEATURES].map((f) => xml("feature", { var: f })),
        ),
      };
    }
    const who = await requesterOf(ctx.from, svc);
    const node = await store.getNode(svc.service, nodeId);
    if (!node || !mayDiscover(node.config, await factsOf(svc, node, who))) {
      return { ok: false, condition: "item-not-found", text: "no such node" };
    }
    const owners = [...(await store.listAffiliations(svc.service, nodeId))]
      .filter(([, a]) => a === "owner")
      .map(([jid]) => jid);
    return {
      ok: true,
      payload: xml(
        "query",
        { xmlns: NS_DISCO_INFO, node: nodeId },
        xml("identity", { category: "pubsub", type: "leaf" }),
        xml("feature", { var: NS_PUBSUB }),
        metadataForm({ node: nodeId, config: node.config, owners, createdAt: node.createdAt }),
      ),
    };
  },

  async items(ctx) {
    const svc = await serviceOf(ctx.to);
    if (!svc) return undefined;
    const who = await requesterOf(ctx.from, svc);
    const nodeId = ctx.payload.attrs.node as string | undefined;
    if (nodeId) {
      // XEP-0060 5.5: a node's items, by id, for whoever may retrieve them.
      const node = await store.getNode(svc.service, nodeId);
      if (!node) return { ok: false, condition: "item-not-found", text: "no such node" };
      const refused = mayRetrieve(node.config, await factsOf(svc, node, who));
      if (refused) return toReply(ctx.iq, refused);
      const found = await store.latestItems(svc.service, nodeId);
      return {
        ok: true,
        payload: xml(
          "query",
          { xmlns: NS_DISCO_ITEMS, node: nodeId },
          ...found.map((i) => xml("item", { jid: svc.service, name: i.itemId })),
        ),
      };
    }
    const [nodes, mine] = await Promise.all([store.listNodes(svc.service), store.affiliationsOf(who.bare)]);
    const affiliation = new Map(
      mine.filter((a) => a.service === svc.service).map((a) => [a.node, a.affiliation]),
    );
    const visible = nodes.filter((n) =>
      mayDiscover(n.config, {
        affiliation: affiliation.get(n.node) ?? "none",
        presenceSubscribed: false,
        sameTenant: who.sameTenant,
      }),
    );
    return {
      ok: true,
      payload: xml(
        "query",
        { xmlns: NS_DISCO_ITEMS },
        ...visible.map((n) =>
          xml("item", {
            jid: svc.service,
            node: n.node,
            name: n.config.title === "" ? undefined : n.config.title,
          }),
        ),
      ),
    };
  },

  serverItems: (domain) => [xml("item", { jid: pubsubServiceOf(domain), name: "Data streams (PubSub)" })],
};

export const pubsubFeature: IqFeature = {
  // Advertised by the service's own disco#info, not the server's.
  discoFeatures: [],
  handlers: {
    [iqKey("set", "host", NS_PUBSUB, "pubsub")]: serviceHandler(userSet),
    [iqKey("get", "host", NS_PUBSUB, "pubsub")]: serviceHandler(userGet),
    [iqKey("set", "host", NS_PUBSUB_OWNER, "pubsub")]: serviceHandler(ownerSet),
    [iqKey("get", "host", NS_PUBSUB_OWNER, "pubsub")]: serviceHandler(ownerGet),
  },
};
