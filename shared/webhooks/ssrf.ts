import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

// SSRF guard, the pure part: which endpoint URLs and which resolved addresses a webhook may be sent to.
// Deny by default: an address is accepted only when it is ordinary global unicast. DNS is done by the
// caller (resolve.ts), which hands every address a name resolves to; one bad address refuses them all,
// so a name cannot mix a public address with an internal one and count on the connection picking.

export type Verdict = { ok: true } | { ok: false; reason: string };

/** Cloud instance metadata services, named in refusals (most also fall in a refused range). */
const METADATA: ReadonlyMap<string, string> = new Map([
  ["169.254.169.254", "AWS/GCP/Azure/OpenStack instance metadata"],
  ["169.254.170.2", "AWS ECS task metadata"],
  ["fd00:ec2::254", "AWS instance metadata (IPv6)"],
  ["168.63.129.16", "Azure host (WireServer)"],
  ["100.100.100.200", "Alibaba Cloud instance metadata"],
]);

const IPV4_RANGES: Readonly<Record<string, string>> = {
  unspecified: "unspecified (0.0.0.0/8)",
  broadcast: "broadcast",
  multicast: "multicast",
  linkLocal: "link-local (169.254.0.0/16)",
  loopback: "loopback (127.0.0.0/8)",
  carrierGradeNat: "carrier-grade NAT (100.64.0.0/10)",
  private: "private (RFC 1918)",
  reserved: "reserved or documentation",
  as112: "AS112 sink",
  amt: "AMT relay anycast",
};

const IPV6_RANGES: Readonly<Record<string, string>> = {
  unspecified: "unspecified (::)",
  linkLocal: "link-local (fe80::/10)",
  multicast: "multicast (ff00::/8)",
  loopback: "loopback (::1)",
  uniqueLocal: "unique-local (fc00::/7)",
  deprecatedSiteLocal: "site-local (fec0::/10)",
  discard: "discard-only (100::/64)",
  teredo: "Teredo tunnel (2001::/32)",
  benchmarking: "benchmarking (2001:2::/48)",
  amt: "AMT (2001:3::/32)",
  as112v6: "AS112 sink",
  deprecatedOrchid: "ORCHID",
  orchid2: "ORCHIDv2",
  droneRemoteIdProtocolEntityTags: "DRIP entity tags",
  segmentRouting: "segment routing (5f00::/16)",
  reserved: "reserved or documentation",
};

const refuse = (address: string, what: string): Verdict => ({
  ok: false,
  reason: `${address} is ${what}: webhooks are only sent to public addresses`,
});

/** Whether a webhook may connect to `address` (an IPv4 or IPv6 literal), ignoring any allow-list. */
export function classifyAddress(address: string): Verdict {
  if (!ipaddr.isValid(address) || isIP(address) === 0) {
    return { ok: false, reason: `${JSON.stringify(address)} is not an IP address` };
  }
  const ip = ipaddr.parse(address);
  const canonical = ip.toString();
  const metadata = METADATA.get(canonical) ?? METADATA.get(address.toLowerCase());
  if (metadata) return refuse(address, `a cloud metadata address (${metadata})`);
  if (ip.kind() === "ipv4") {
    const range = ip.range();
    if (range === "unicast") return { ok: true };
    return refuse(address, IPV4_RANGES[range] ?? range);
  }
  const v6 = ip as ipaddr.IPv6;
  const range = v6.range();
  // Addresses that carry an IPv4 address and may reach it through a translator: judged by that address.
  if (range === "ipv4Mapped" || range === "rfc6145" || isWellKnownNat64(v6)) {
    return embedded(address, v6.parts.slice(6));
  }
  if (range === "rfc6052") return refuse(address, "a local-use NAT64 address (64:ff9b:1::/48)");
  if (range === "6to4") return embedded(address, v6.parts.slice(1, 3));
  if (range !== "unicast") return refuse(address, IPV6_RANGES[range] ?? range);
  if (v6.parts.slice(0, 6).every((p) => p === 0)) {
    return refuse(address, "an IPv4-compatible address (::/96, deprecated)");
  }
  // Only 2000::/3 is allocated as global unicast; ipaddr.js calls the rest "unicast" too.
  if (((v6.parts[0] ?? 0) & 0xe000) !== 0x2000) return refuse(address, "outside global unicast (2000::/3)");
  return { ok: true };
}

function isWellKnownNat64(ip: ipaddr.IPv6): boolean {
  return ip.match(ipaddr.IPv6.parse("64:ff9b::"), 96);
}

function embedded(address: string, words: readonly number[]): Verdict {
  const [hi = 0, lo = 0] = words;
  const v4 = `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const inner = classifyAddress(v4);
  return inner.ok ? inner : refuse(address, `an IPv6 form of ${v4}, which is not public`);
}

/** Exemptions from the address check: host names (exact), addresses, CIDR ranges. */
export interface AllowList {
  readonly hosts: ReadonlySet<string>;
  readonly ranges: readonly [ipaddr.IPv4 | ipaddr.IPv6, number][];
}

export function parseAllowList(entries: readonly string[]): AllowList {
  const hosts = new Set<string>();
  const ranges: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  for (const raw of entries) {
    const entry = raw
      .trim()
      .toLowerCase()
      .replace(/^\[(.*)\]$/, "$1");
    if (!entry) continue;
    if (entry.includes("/")) ranges.push(ipaddr.parseCIDR(entry));
    else if (isIP(entry)) {
      const ip = ipaddr.parse(entry);
      ranges.push([ip, ip.kind() === "ipv4" ? 32 : 128]);
    } else hosts.add(entry.replace(/\.$/, ""));
  }
  return { hosts, ranges };
}

function inAllowList(address: string, allow: AllowList): boolean {
  const ip = ipaddr.parse(address);
  return allow.ranges.some(([base, bits]) => ip.kind() === base.kind() && ip.match(base, bits));
}

/**
 * Whether a webhook to `hostname` may use `addresses` (all it resolved to): every one must be public,
 * unless the host name itself or that address is allow-listed. Returns the address to connect to.
 */
export function checkAddresses(
  hostname: string,
  addresses: readonly string[],
  allow: AllowList,
): { ok: true; address: string } | { ok: false; reason: string } {
  if (addresses.length === 0) return { ok: false, reason: `${hostname} resolves to no address` };
  const hostAllowed = allow.hosts.has(hostname.toLowerCase().replace(/\.$/, ""));
  for (const address of addresses) {
    if (hostAllowed || (isIP(address) && inAllowList(address, allow))) continue;
    const verdict = classifyAddress(address);
    if (!verdict.ok) {
      const via = isIP(hostname) ? "" : `${hostname} resolves to `;
      return { ok: false, reason: `${via}${verdict.reason}` };
    }
  }
  return { ok: true, address: addresses[0] as string };
}

export interface CheckedUrl {
  readonly url: URL;
  /** Without IPv6 brackets. */
  readonly hostname: string;
  readonly port: number;
}

/** The URL's own rules: http(s) only, https unless allowed, no credentials, a host. */
export function checkUrl(
  text: string,
  opts: { allowHttp: boolean },
): { ok: true; value: CheckedUrl } | { ok: false; reason: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { ok: false, reason: "not an absolute URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, reason: `scheme ${url.protocol.slice(0, -1)} is not allowed: use https` };
  }
  if (url.protocol === "http:" && !opts.allowHttp) {
    return { ok: false, reason: "https is required (http is only accepted in development)" };
  }
  if (url.username || url.password) {
    return { ok: false, reason: "credentials in the URL are not accepted: the signature authenticates us" };
  }
  if (url.hash) return { ok: false, reason: "a fragment (#...) has no meaning in a webhook URL" };
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!hostname) return { ok: false, reason: "the URL has no host" };
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  return { ok: true, value: { url, hostname, port } };
}
