import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import type { WebhookSettings } from "./settings";
import { type CheckedUrl, checkAddresses, checkUrl, parseAllowList } from "./ssrf";

// The SSRF guard's edge: resolve the endpoint's host now and check every address it has. The address
// returned is the one the request must connect to (send.ts pins it), so a name that changes its answer
// between this check and the connection (DNS rebinding) cannot redirect the request.

/** Every address a host name resolves to. */
export type Lookup = (hostname: string) => Promise<string[]>;

export const systemLookup: Lookup = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export interface Target extends CheckedUrl {
  /** The checked address to connect to. */
  readonly address: string;
  readonly family: 4 | 6;
}

export type TargetCheck = { ok: true; target: Target } | { ok: false; reason: string };

export async function resolveTarget(
  text: string,
  settings: Pick<WebhookSettings, "allowHosts" | "allowHttp">,
  resolveHost: Lookup = systemLookup,
): Promise<TargetCheck> {
  const checked = checkUrl(text, settings);
  if (!checked.ok) return checked;
  const { hostname } = checked.value;
  let addresses: string[];
  if (isIP(hostname)) addresses = [hostname];
  else {
    try {
      addresses = await resolveHost(hostname);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      return { ok: false, reason: `cannot resolve ${hostname} (${code})` };
    }
  }
  const verdict = checkAddresses(hostname, addresses, parseAllowList(settings.allowHosts));
  if (!verdict.ok) return verdict;
  const family = isIP(verdict.address) === 6 ? 6 : 4;
  return { ok: true, target: { ...checked.value, address: verdict.address, family } };
}
