// Key layout of the Streams table. One place, so the shape of every item kind is visible at once.
//   pk                         sk              gsi1pk                  gsi1sk
//   NODE#<service>#<node>      #               SERVICE#<service>       NODE#<node>          a node: owner, tenant, config
//   NODE#<service>#<node>      ITEM#<itemId>   ITEMS#<service>#<node>  <publishedAt>#<itemId> a published item (publish order)
//   NODE#<service>#<node>      SUB#<jid>       SUBJID#<bare jid>       <service>#<node>     a subscription (one per JID)
//   NODE#<service>#<node>      AFF#<bare jid>  AFFJID#<bare jid>       <service>#<node>     an affiliation other than none
// Everything of a node lives in its partition, so deleting a node is one query and batch deletes.
// A service JID never contains "#", so the node id (which may) is whatever follows the second "#".
export const HEAD = "#";
export const nodePk = (service: string, node: string): string => `NODE#${service}#${node}`;
export const nodeKey = (service: string, node: string) => ({ pk: nodePk(service, node), sk: HEAD });
export const serviceIndexPk = (service: string): string => `SERVICE#${service}`;
export const nodeIndexSk = (node: string): string => `NODE#${node}`;

export const ITEM_PREFIX = "ITEM#";
export const itemKey = (service: string, node: string, itemId: string) => ({
  pk: nodePk(service, node),
  sk: `${ITEM_PREFIX}${itemId}`,
});
export const itemsIndexPk = (service: string, node: string): string => `ITEMS#${service}#${node}`;
// Zero-padded so that string order is time order for any epoch-ms date before year 5138.
export const itemsIndexSk = (publishedAt: number, itemId: string): string =>
  `${String(publishedAt).padStart(14, "0")}#${itemId}`;

export const SUB_PREFIX = "SUB#";
export const subKey = (service: string, node: string, jid: string) => ({
  pk: nodePk(service, node),
  sk: `${SUB_PREFIX}${jid}`,
});

export const subJidIndexPk = (bareJid: string): string => `SUBJID#${bareJid}`;

export const AFF_PREFIX = "AFF#";
export const affKey = (service: string, node: string, bareJid: string) => ({
  pk: nodePk(service, node),
  sk: `${AFF_PREFIX}${bareJid}`,
});
export const affJidIndexPk = (bareJid: string): string => `AFFJID#${bareJid}`;
export const affJidIndexSk = (service: string, node: string): string => `${service}#${node}`;
