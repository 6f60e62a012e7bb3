// JIDs (RFC 7622) as Relais compares them. Localpart and domain are case-folded; full PRECIS profiles
// (width mapping, NFC, the forbidden code points of the IdentifierClass) are not applied yet, so a JID
// outside ASCII compares by its lowercase form only. @xmpp/jid does no more than this and ships no types.

export interface Jid {
  readonly local?: string;
  readonly domain: string;
  readonly resource?: string;
}

const MAX_PART = 1023;

export function parseJid(text: string): Jid | undefined {
  const slash = text.indexOf("/");
  const bare = slash >= 0 ? text.slice(0, slash) : text;
  const resource = slash >= 0 ? text.slice(slash + 1) : undefined;
  const at = bare.indexOf("@");
  const local = at >= 0 ? bare.slice(0, at).toLowerCase() : undefined;
  const domain = (at >= 0 ? bare.slice(at + 1) : bare).toLowerCase().replace(/\.$/, "");
  if (!domain || domain.length > MAX_PART || /[\s@/"&'<>:]/.test(domain)) return undefined;
  if (local !== undefined && (!local || local.length > MAX_PART || /[\s"&'/:<>@]/.test(local)))
    return undefined;
  if (resource !== undefined && (!resource || resource.length > MAX_PART)) return undefined;
  return { local, domain, resource };
}

export const bareOf = (j: Jid): string => (j.local ? `${j.local}@${j.domain}` : j.domain);
export const fullOf = (j: Jid): string => (j.resource ? `${bareOf(j)}/${j.resource}` : bareOf(j));
