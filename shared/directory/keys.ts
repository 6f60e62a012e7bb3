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
