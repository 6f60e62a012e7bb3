// Controlled vocabularies of a consent record, from the W3C Data Privacy Vocabulary (DPV 2.0): a small
// set of its purposes that fit energy data, and the GDPR Article 6 legal bases. Stored and shown as
// DPV IRIs so that an export is readable by other tools; free text may add detail to a purpose.

export const DPV = "https://w3id.org/dpv#";

export const PURPOSES = {
  ServiceProvision: "providing the service the data subject asked for",
  ServiceOptimisation: "improving the service, e.g. tariff or consumption advice",
  ResearchAndDevelopment: "research and development",
  PublicBenefit: "purposes of public benefit, e.g. a local energy study",
  CommunicationManagement: "communications with the data subject",
  LegalCompliance: "complying with a legal obligation",
  Marketing: "marketing",
} as const;
export type Purpose = keyof typeof PURPOSES;
export const PURPOSE_CODES = Object.keys(PURPOSES) as Purpose[];

/** GDPR Article 6(1) (a) to (f), as DPV names them. */
export const LEGAL_BASES = {
  Consent: "the data subject's consent (Art. 6(1)(a))",
  Contract: "a contract with the data subject (Art. 6(1)(b))",
  LegalObligation: "a legal obligation (Art. 6(1)(c))",
  VitalInterest: "vital interests (Art. 6(1)(d))",
  PublicInterest: "a task in the public interest (Art. 6(1)(e))",
  LegitimateInterest: "legitimate interests (Art. 6(1)(f))",
} as const;
export type LegalBasis = keyof typeof LEGAL_BASES;
export const LEGAL_BASIS_CODES = Object.keys(LEGAL_BASES) as LegalBasis[];

/** ISO/IEC TS 27560's consent states, as this hub uses them. */
export const STATES = ["requested", "granted", "refused", "withdrawn", "expired"] as const;
export type ConsentState = (typeof STATES)[number];

/** Who a consent lets receive data: an account or any JID, a whole remote domain, a webhook endpoint, an application (API key). */
export const RECIPIENT_KINDS = ["jid", "domain", "webhook", "application"] as const;
export type RecipientKind = (typeof RECIPIENT_KINDS)[number];
