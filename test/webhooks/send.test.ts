import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Target } from "../../shared/webhooks/resolve";
import { newSigningSecret, openSecret, sealSecret, secretContext } from "../../shared/webhooks/secrets";
import { postPinned } from "../../shared/webhooks/send";

// One attempt against a real local HTTP server: the request goes to the pinned address whatever the
// host name says, redirects are not followed, and the deadline holds.

let server: Server;
let port: number;
const seen: { host: string | undefined; path: string | undefined; body: string }[] = [];

async function bodyOf(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

beforeAll(async () => {
  server = createServer(async (req, res) => {
    seen.push({ host: req.headers.host, path: req.url, body: await bodyOf(req) });
    if (req.url === "/redirect") {
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" }).end();
    } else if (req.url === "/slow") {
      setTimeout(() => res.writeHead(200).end(), 2000);
    } else if (req.url === "/teapot") res.writeHead(418).end("no");
    else res.writeHead(204).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

// ".invalid" never resolves (RFC 6761): reaching the server proves DNS was not asked.
const target = (path: string): Target => ({
  url: new URL(`http://hooks.invalid:${port}${path}`),
  hostname: "hooks.invalid",
  port,
  address: "127.0.0.1",
  family: 4,
});

describe("postPinned", () => {
  it("connects to the checked address, with the endpoint's host name in Host", async () => {
    const r = await postPinned(target("/in?x=1"), { "webhook-id": "msg_1" }, '{"a":1}', 2000);
    expect(r).toMatchObject({ ok: true, status: 204 });
    expect(seen.at(-1)).toEqual({ host: `hooks.invalid:${port}`, path: "/in?x=1", body: '{"a":1}' });
  });
  it("does not follow a redirect, and says where it pointed", async () => {
    const before = seen.length;
    const r = await postPinned(target("/redirect"), {}, "{}", 2000);
    expect(r).toMatchObject({
      ok: false,
      status: 302,
      error: "HTTP 302: redirect to http://169.254.169.254/latest/meta-data/ not followed",
    });
    expect(seen.length).toBe(before + 1);
  });
  it("gives up at the deadline", async () => {
    const r = await postPinned(target("/slow"), {}, "{}", 300);
    expect(r).toMatchObject({ ok: false, error: "timed out after 300 ms" });
    expect(r.latencyMs).toBeLessThan(1500);
  });
  it("reports a status other than 2xx, and a refused connection", async () => {
    expect(await postPinned(target("/teapot"), {}, "{}", 2000)).toMatchObject({
      ok: false,
      error: "HTTP 418",
    });
    const closed = { ...target("/"), port: 1, url: new URL("http://hooks.invalid:1/") };
    const r = await postPinned(closed, {}, "{}", 2000);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^network: ECONNREFUSED/);
  });
});

describe("signing secrets at rest", () => {
  const env = { RELAIS_WEBHOOK_SECRET_KEY: "test-key-material" };
  it("are Standard Webhooks secrets", () => {
    const s = newSigningSecret();
    expect(s).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(s.slice(6), "base64")).toHaveLength(32);
  });
  it("seal and open for the same endpoint only", () => {
    const s = newSigningSecret();
    const sealed = sealSecret(s, secretContext("t1", "ep_a"), env);
    expect(sealed).not.toContain(s.slice(6, 20));
    expect(openSecret(sealed, secretContext("t1", "ep_a"), env)).toBe(s);
    expect(() => openSecret(sealed, secretContext("t2", "ep_a"), env)).toThrow();
    expect(() =>
      openSecret(sealed, secretContext("t1", "ep_a"), { RELAIS_WEBHOOK_SECRET_KEY: "other" }),
    ).toThrow();
  });
  it("cannot be sealed without the deployment key", () => {
    expect(() => sealSecret("whsec_x", "c", {})).toThrow(/RELAIS_WEBHOOK_SECRET_KEY is unset/);
  });
});
