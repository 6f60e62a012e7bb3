// Key layout of the Directory table. One place, so the shape of every item kind is visible at once.
//   DOMAIN#<domain>     #                  a hosted XMPP domain and the tenant owning it
//   TENANT#<id>         #                  a tenant
//   ACCOUNT#<bare jid>  #                  an account: SCRAM credentials, state, login throttling
//   ROSTER#<bare jid>   ITEM#<contact>     one roster item
//   OFFLINE#<bare jid>  MSG#<ts>#<seq>#<id> a message stored for an offline account (XEP-0160)
//   WEBHOOK#<tenant>, WHDELIVERY#<tenant>#<id>, WHLOG# (gsi1), WHPARKED#<tenant>: webhooks, see shared/webhooks/keys.ts
export const HEAD = "#";
export const domainKey = (domain: string) => ({ pk: `DOMAIN#${domain}`, sk: HEAD });
export const tenantKey = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: HEAD });
export const accountKey = (bareJid: string) => ({ pk: `ACCOUNT#${bareJid}`, sk: HEAD });
export const rosterPk = (bareJid: string) => `ROSTER#${bareJid}`;
export const rosterItemKey = (owner: string, contact: string) => ({
  pk: rosterPk(owner),
  sk: `ITEM#${contact}`,
});
export const offlinePk = (bareJid: string) => `OFFLINE#${bareJid}`;
// Added with the HTTP API (issue 7):
//   APIKEY#<key id>           #            an API key: tenant, scope, SHA-256 of its secret  (gsi1: TENANT-KEYS#<tenant>)
//   INVITE#<sha256 of token>  #            an invitation to create one account               (gsi1: TENANT-INVITES#<tenant>)
//   IDEM#<tenant>#<key>       #            an Idempotency-Key's request hash and answer (24 h TTL)
//   USAGE#<tenant>            DAY#<date>   a day's ingest counter (TTL after a few days)
//   ACCOUNT#<bare jid>        #            accounts are listed per tenant through gsi1: TENANT-ACCOUNTS#<tenant>
export const apiKeyKey = (keyId: string) => ({ pk: `APIKEY#${keyId}`, sk: HEAD });
export const tenantKeysIndexPk = (tenantId: string) => `TENANT-KEYS#${tenantId}`;
export const inviteKey = (tokenHash: string) => ({ pk: `INVITE#${tokenHash}`, sk: HEAD });
export const tenantInvitesIndexPk = (tenantId: string) => `TENANT-INVITES#${tenantId}`;
export const idempotencyKey = (tenantId: string, key: string) => ({
  pk: `IDEM#${tenantId}#${key}`,
  sk: HEAD,
});
export const usageDayKey = (tenantId: string, day: string) => ({ pk: `USAGE#${tenantId}`, sk: `DAY#${day}` });
export const tenantAccountsIndexPk = (tenantId: string) => `TENANT-ACCOUNTS#${tenantId}`;
