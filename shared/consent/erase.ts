// Erasure of a deleted account's or stream's data everywhere the hub stored it (GDPR Art. 17). What is
// kept, on purpose: the consent records and the subject's audit chain (proof of what was agreed and
// delivered; they hold no SenML values), and the delivered-marks (two days, then TTL). What the hub
// cannot reach: copies already delivered to clients, remote servers and webhook receivers.
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { documents } from "../aws/clients";
import { tableName } from "../aws/resources";
import { listOffline, removeOffline } from "../directory/offline";
import { deleteRoster } from "../directory/rosters";
import { deleteAllItems } from "../pubsub/item-pages";
import * as store from "../pubsub/store";
import { forgetStream } from "../webhooks/deliveries";
import { endpointRecords } from "../webhooks/endpoints";
import { applyToSubscriptions } from "../xmpp/features/pubsub-consent";
import { routeKey } from "../xmpp/session/routes";
import { appendAudit } from "./audit";
import { chainOf } from "./layout";
import { ConsentRuleError, recipientKey } from "./record";
import {
  ConsentNotFound,
  changeConsent,
  consentIdsOfRecipient,
  consentsOfSubject,
  dropGrantsOfStream,
} from "./store";
import { streamsOfSubject } from "./subject-streams";

export interface Erased {
  readonly consentsWithdrawn: number;
  readonly itemsDeleted: number;
  readonly subscriptionsRemoved: number;
  readonly affiliationsRemoved: number;
  readonly offlineMessagesDeleted: number;
}

/** Withdraws a consent still requested or granted, as the system; false if it was over or is gone. */
async function end(consentId: string, why: string, domain: string): Promise<boolean> {
  try {
    const { record } = await changeConsent(
      consentId,
      "withdrawn",
      { by: "system", via: "system", note: why },
      domain,
    );
    await applyToSubscriptions(record);
    return true;
  } catch (err) {
    if (err instanceof ConsentRuleError || err instanceof ConsentNotFound) return false;
    throw err;
  }
}

/** After an account is deleted: what it was subject of, recipient of, subscribed to, and kept for it. */
export async function eraseAccount(
  tenant: { tenantId: string; domain: string },
  bareJid: string,
): Promise<Erased> {
  const why = `account ${bareJid} deleted`;
  let consentsWithdrawn = 0;
  for (const { record } of await consentsOfSubject(tenant.tenantId, bareJid)) {
    if (await end(record.consentId, why, tenant.domain)) consentsWithdrawn++;
  }
  // A consent naming it as recipient ends too: a later account of the same name must not inherit it.
  for (const id of await consentIdsOfRecipient(tenant.tenantId, recipientKey({ kind: "jid", id: bareJid }))) {
    if (await end(id, why, tenant.domain)) consentsWithdrawn++;
  }
  let itemsDeleted = 0;
  for (const node of await streamsOfSubject(tenant.domain, bareJid)) {
    itemsDeleted += await deleteAllItems(node.service, node.node);
  }
  let subscriptionsRemoved = 0;
  for (const { service, node, sub } of await store.accountSubscriptions(bareJid)) {
    await store.deleteSubscription(service, node, sub.jid);
    subscriptionsRemoved++;
  }
  let affiliationsRemoved = 0;
  for (const a of await store.affiliationsOf(bareJid)) {
    const all = await store.listAffiliations(a.service, a.node);
    const after = new Map(all);
    after.delete(bareJid);
    await store.replaceAffiliations(a.service, a.node, all, after);
    affiliationsRemoved++;
  }
  await deleteRoster(bareJid);
  const offline = await listOffline(bareJid);
  await removeOffline(offline.map((m) => m.key));
  await documents().send(new DeleteCommand({ TableName: tableName("Sessions"), Key: routeKey(bareJid) }));
  const erased = {
    consentsWithdrawn,
    itemsDeleted,
    subscriptionsRemoved,
    affiliationsRemoved,
    offlineMessagesDeleted: offline.length,
  };
  await appendAudit(tenant.tenantId, chainOf(tenant.tenantId, bareJid), "account.erased", { ...erased });
  return erased;
}

/** After a stream is deleted (its items, subscriptions and affiliations go with its node): its grants, and its webhook bodies. */
export async function eraseStream(
  tenantId: string,
  service: string,
  node: string,
): Promise<{ grants: number; webhookBodies: number }> {
  const grants = await dropGrantsOfStream(service, node);
  const endpoints = (await endpointRecords(tenantId)).map((e) => e.id);
  const webhookBodies = await forgetStream(tenantId, endpoints, node);
  return { grants, webhookBodies };
}
