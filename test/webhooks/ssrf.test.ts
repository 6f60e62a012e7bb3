import { describe, expect, it } from "vitest";
import { resolveTarget } from "../../shared/webhooks/resolve";
import { checkAddresses, checkUrl, classifyAddress, parseAllowList } from "../../shared/webhooks/ssrf";

// The SSRF guard's pure core, range by range, with the boundary addresses on both sides of each range.

const refusedWith = (address: string, words: RegExp) => {
  const v = classifyAddress(address);
  expect(v.ok, `${address} should be refused`).toBe(false);
  if (!v.ok) expect(v.reason).toMatch(words);
};

describe("classifyAddress: IPv4", () => {
  it.each([
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "9.255.255.255", // below 10/8
    "11.0.0.0", // above 10/8
    "126.255.255.255",
    "128.0.0.1",
    "172.15.255.255",
    "172.32.0.0",
    "192.167.255.255",
    "192.169.0.0",
    "100.63.255.255",
    "100.128.0.0",
    "169.253.255.255",
    "169.255.0.0",
    "223.255.255.255",
    "168.63.129.15",
  ])("accepts public %s", (a) => expect(classifyAddress(a)).toEqual({ ok: true }));

  it.each([
    ["0.0.0.0", /unspecified/],
    ["0.255.255.255", /unspecified/],
    ["127.0.0.1", /loopback/],
    ["127.255.255.254", /loopback/],
    ["10.0.0.0", /private/],
    ["10.255.255.255", /private/],
    ["172.16.0.0", /private/],
    ["172.31.255.255", /private/],
    ["192.168.0.1", /private/],
    ["169.254.0.1", /link-local/],
    ["169.254.255.255", /link-local/],
    ["100.64.0.0", /carrier-grade NAT/],
    ["100.127.255.255", /carrier-grade NAT/],
    ["224.0.0.1", /multicast/],
    ["239.255.255.255", /multicast/],
    ["255.255.255.255", /broadcast/],
    ["240.0.0.1", /reserved/],
    ["192.0.0.8", /reserved/],
    ["192.0.2.1", /reserved or documentation/],
    ["198.51.100.7", /reserved or documentation/],
    ["203.0.113.200", /reserved or documentation/],
    ["198.18.0.1", /reserved/],
    ["198.19.255.255", /reserved/],
  ])("refuses %s (%s)", (a, words) => refusedWith(a, words));

  it.each([
    ["169.254.169.254", /metadata/],
    ["169.254.170.2", /ECS task metadata/],
    ["168.63.129.16", /Azure/],
    ["100.100.100.200", /Alibaba/],
  ])("refuses the cloud metadata address %s, named as such", (a, words) => refusedWith(a, words));

  it("says why in words a person can act on", () => {
    expect(classifyAddress("10.1.2.3")).toEqual({
      ok: false,
      reason: "10.1.2.3 is private (RFC 1918): webhooks are only sent to public addresses",
    });
  });
});

describe("classifyAddress: IPv6", () => {
  it.each([
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "2a00:1450:4007:80e::200e",
    "::ffff:8.8.8.8", // IPv4-mapped: judged as the IPv4 address it maps
    "64:ff9b::808:808", // NAT64 of 8.8.8.8
    "2002:808:808::1", // 6to4 of 8.8.8.8
  ])("accepts public %s", (a) => expect(classifyAddress(a)).toEqual({ ok: true }));

  it.each([
    ["::", /unspecified/],
    ["::1", /loopback/],
    ["fe80::1", /link-local/],
    ["febf:ffff::1", /link-local/],
    ["fc00::1", /unique-local/],
    ["fdff:ffff::1", /unique-local/],
    ["ff02::1", /multicast/],
    ["ff0e::1", /multicast/],
    ["fec0::1", /site-local/],
    ["100::1", /discard/],
    ["2001:db8::1", /reserved or documentation/],
    ["2001::1", /Teredo/],
    ["2001:2::1", /benchmarking/],
    ["3fff::1", /reserved/],
    ["5f00::1", /segment routing/],
    ["4000::1", /global unicast/],
    ["::7f00:1", /IPv4-compatible/],
    ["64:ff9b:1::1", /local-use NAT64/],
  ])("refuses %s (%s)", (a, words) => refusedWith(a, words));

  it.each([
    ["::ffff:127.0.0.1", /IPv6 form of 127\.0\.0\.1/],
    ["::ffff:7f00:1", /IPv6 form of 127\.0\.0\.1/],
    ["::ffff:10.0.0.1", /IPv6 form of 10\.0\.0\.1/],
    ["::ffff:192.168.1.1", /IPv6 form of 192\.168\.1\.1/],
    ["::ffff:169.254.169.254", /IPv6 form of 169\.254\.169\.254/],
    ["::ffff:100.64.0.1", /IPv6 form/],
    ["::ffff:0:7f00:1", /IPv6 form of 127\.0\.0\.1/], // RFC 6145 translated
    ["64:ff9b::7f00:1", /IPv6 form of 127\.0\.0\.1/], // NAT64 of loopback
    ["64:ff9b::a9fe:a9fe", /IPv6 form of 169\.254\.169\.254/], // NAT64 of the metadata service
    ["2002:7f00:1::1", /IPv6 form of 127\.0\.0\.1/], // 6to4 of loopback
    ["2002:a00:1::", /IPv6 form of 10\.0\.0\.1/],
  ])("refuses %s, an IPv6 form of a refused IPv4 address", (a, words) => refusedWith(a, words));

  it("refuses the AWS IPv6 metadata address, named as such", () => {
    refusedWith("fd00:ec2::254", /cloud metadata/);
    refusedWith("fd00:0ec2:0000:0000:0000:0000:0000:0254", /cloud metadata/);
  });
});

describe("classifyAddress: not an address", () => {
  it.each(["localhost", "", "1.2.3", "1.2.3.4.5", "::g", "0x7f.1", "2130706433"])("refuses %j", (a) => {
    const v = classifyAddress(a);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/not an IP address/);
  });
});

describe("checkAddresses", () => {
  const none = parseAllowList([]);
  it("refuses a name if any one of its addresses is refused, and says which", () => {
    expect(checkAddresses("hooks.example", ["93.184.216.34", "10.0.0.7"], none)).toEqual({
      ok: false,
      reason:
        "hooks.example resolves to 10.0.0.7 is private (RFC 1918): webhooks are only sent to public addresses",
    });
    expect(checkAddresses("hooks.example", ["2001:4860::1", "::1"], none).ok).toBe(false);
  });
  it("pins the first address of a name whose addresses are all public", () => {
    expect(checkAddresses("hooks.example", ["93.184.216.34", "2001:4860::1"], none)).toEqual({
      ok: true,
      address: "93.184.216.34",
    });
  });
  it("refuses a name without addresses", () => {
    expect(checkAddresses("hooks.example", [], none).ok).toBe(false);
  });
  it("exempts allow-listed host names, addresses and ranges, and only those", () => {
    const allow = parseAllowList(["LocalHost", "127.0.0.1", "10.1.0.0/16", "[::1]"]);
    expect(checkAddresses("localhost", ["127.0.0.1", "::1"], allow).ok).toBe(true);
    expect(checkAddresses("localhost.", ["127.0.0.2"], allow).ok).toBe(true);
    expect(checkAddresses("127.0.0.1", ["127.0.0.1"], allow).ok).toBe(true);
    expect(checkAddresses("::1", ["::1"], allow).ok).toBe(true);
    expect(checkAddresses("x.example", ["10.1.200.3"], allow).ok).toBe(true);
    expect(checkAddresses("x.example", ["10.2.0.1"], allow).ok).toBe(false);
    expect(checkAddresses("127.0.0.2", ["127.0.0.2"], allow).ok).toBe(false);
    expect(checkAddresses("other.example", ["127.0.0.2"], allow).ok).toBe(false);
  });
});

describe("checkUrl", () => {
  it.each([
    ["ftp://hooks.example/x", false, /scheme ftp is not allowed/],
    ["file:///etc/passwd", false, /scheme file is not allowed/],
    ["http://hooks.example/x", false, /https is required/],
    ["https://user:pw@hooks.example/x", false, /credentials in the URL/],
    ["https://hooks.example/x#frag", false, /fragment/],
    ["hooks.example/x", false, /not an absolute URL/],
  ])("refuses %s", (url, allowHttp, words) => {
    const r = checkUrl(url, { allowHttp });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(words);
  });
  it("accepts https, and http when allowed, with the port the scheme implies", () => {
    const a = checkUrl("https://Hooks.Example/in?x=1", { allowHttp: false });
    expect(a.ok && { host: a.value.hostname, port: a.value.port }).toEqual({
      host: "hooks.example",
      port: 443,
    });
    const b = checkUrl("http://[::1]:8081/in", { allowHttp: true });
    expect(b.ok && { host: b.value.hostname, port: b.value.port }).toEqual({ host: "::1", port: 8081 });
  });
});

describe("resolveTarget", () => {
  // Public DNS cannot be reached from the test machine: names are answered by a stand-in resolver.
  const dns =
    (answers: Record<string, string[]>) =>
    async (host: string): Promise<string[]> => {
      const a = answers[host];
      if (!a) throw Object.assign(new Error(`queryA ENOTFOUND ${host}`), { code: "ENOTFOUND" });
      return a;
    };
  const settings = { allowHosts: [], allowHttp: false };

  it("returns the checked address to connect to", async () => {
    const r = await resolveTarget(
      "https://hooks.example/in",
      settings,
      dns({ "hooks.example": ["93.184.216.34"] }),
    );
    expect(r.ok && { address: r.target.address, family: r.target.family }).toEqual({
      address: "93.184.216.34",
      family: 4,
    });
  });
  it("refuses a name that resolves to an internal address (DNS rebinding to metadata, say)", async () => {
    const r = await resolveTarget(
      "https://evil.example/",
      settings,
      dns({ "evil.example": ["169.254.169.254"] }),
    );
    expect(r).toEqual({
      ok: false,
      reason:
        "evil.example resolves to 169.254.169.254 is a cloud metadata address (AWS/GCP/Azure/OpenStack instance metadata): webhooks are only sent to public addresses",
    });
  });
  it("names a resolution failure", async () => {
    const r = await resolveTarget("https://nowhere.example/", settings, dns({}));
    expect(r).toEqual({ ok: false, reason: "cannot resolve nowhere.example (ENOTFOUND)" });
  });
  it.each([
    "https://127.0.0.1/",
    "https://[::1]/",
    "https://0x7f.1/", // the URL parser makes these 127.0.0.1: the check sees what would be connected to
    "https://2130706433/",
    "https://017700000001/",
    "https://[::ffff:7f00:1]/",
    "https://169.254.169.254/latest/meta-data/",
  ])("refuses the literal %s without asking DNS", async (url) => {
    const r = await resolveTarget(url, settings, async () => {
      throw new Error("DNS must not be asked for an address literal");
    });
    expect(r.ok).toBe(false);
  });
});
