// Key layout of the Consents table. One place, so the shape of every item kind is visible at once.
//   pk                          sk                  gsi1pk                       gsi1sk
//   CONSENT#<consentId>         #                   SUBJECT#<tenant>#<subject>   <requested at>#<consentId>  a record, its receipts
//   GRANT#<service>#<node>      RCPT#<recipient>    -                                                        what a delivery checks
//   RECIPIENT#<tenant>#<rcpt>   <consentId>         -                                                        a consent naming this recipient
//   AUDIT#<chain>               HEAD                -                                                        the chain's head, signed
//   AUDIT#<chain>               SEQ#<12 digits>     -                                                        an audit entry
//   AUDIT#<chain>               CP#<12 digits>      -                                                        a kept signed checkpoint
// <recipient> is "<kind>:<id>" (record.ts recipientKey); <chain> is "<tenant>/<subject>".
export const HEAD = "#";
export const consentKey = (consentId: string) => ({ pk: `CONSENT#${consentId}`, sk: HEAD });
export const subjectIndexPk = (tenantId: string, subject: string) => `SUBJECT#${tenantId}#${subject}`;
export const grantKey = (service: string, node: string, recipient: string) => ({
  pk: `GRANT#${service}#${node}`,
  sk: `RCPT#${recipient}`,
});
export const recipientPointerKey = (tenantId: string, recipient: string, consentId: string) => ({
  pk: `RECIPIENT#${tenantId}#${recipient}`,
  sk: consentId,
});
export const auditPk = (chain: string) => `AUDIT#${chain}`;
export const auditHeadKey = (chain: string) => ({ pk: auditPk(chain), sk: "HEAD" });
const seqSk = (prefix: string, seq: number) => `${prefix}${String(seq).padStart(12, "0")}`;
export const auditEntryKey = (chain: string, seq: number) => ({ pk: auditPk(chain), sk: seqSk("SEQ#", seq) });
export const checkpointKey = (chain: string, seq: number) => ({ pk: auditPk(chain), sk: seqSk("CP#", seq) });
export const chainOf = (tenantId: string, subject: string) => `${tenantId}/${subject}`;
