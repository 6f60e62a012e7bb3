import { createHash } from "node:crypto";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { Element } from "@xmpp/xml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { documents } from "../../shared/aws/clients";
import { tableName } from "../../shared/aws/resources";
import { hostedDomain } from "../../shared/directory/domains";
import { inviteKey } from "../../shared/directory/keys";
import { allChecks } from "../../shared/health";
import { createApp } from "../../shared/http/app";
import { setQuotas } from "../../shared/tenants/tenants";
import { sessionsOf } from "../../shared/xmpp/session/store";
import { online, RawStream, until } from "../e2e/xmpp-helpers";
import { startTestHub, type TestHub } from "../support/hub";
import { call, expectProblem, signUp, streamPath } from "./api-client";

// Accounts and invitations as the XMPP side sees them (a real SASL login on the hub), quotas and the daily
// rate limit, and custom domain verification against a stand-in for DNS.

let t: TestHub;
beforeAll(async () => {
  t = await startTestHub({ domains: ["acc.test"] });
});
afterAll(async () => {
  await t?.stop();
});

const conditionOf = (el: Element) => el.getChildElements().find((c) => c.name !== "text")?.name;

async function plainLogin(domain: string, username: string, password: string): Promise<string> {
  const s = await RawStream.connect(t.wsUrl);
  await s.open(domain);
  const answer = await s.plain(username, password);
  s.close();
  return answer.name === "success" ? "success" : (conditionOf(answer) ?? "?");
}

describe("accounts", () => {
  it("creates, lists, disables (no XMPP login), re-enables, resets the password and deletes", async () => {
    const { admin, domain } = await signUp(t, "members");
    const created = await call(t, "POST", "/v1/accounts", {
      key: admin,
      json: { username: "alice", password: "first-password" },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.jid).toBe(`alice@${domain}`);
    expect(await plainLogin(domain, "alice", "first-password")).toBe("success");
    expectProblem(
      await call(t, "POST", "/v1/accounts", {
        key: admin,
        json: { username: "alice", password: "other-password" },
      }),
      409,
      "conflict",
    );
    const listed = await call(t, "GET", "/v1/accounts", { key: admin });
    expect(listed.body.accounts.map((a: { jid: string }) => a.jid)).toEqual([`alice@${domain}`]);

    const jid = encodeURIComponent(`alice@${domain}`);
    // A session open when the account is disabled is closed with not-authorized.
    const live = await online(t, `alice@${domain}`, { password: "first-password" });
    live.xmpp.reconnect.stop();
    const errors: string[] = [];
    live.xmpp.on("error", (e: { condition?: string }) => errors.push(e.condition ?? "?"));
    expect(
      (await call(t, "PATCH", `/v1/accounts/${jid}`, { key: admin, json: { disabled: true } })).body.disabled,
    ).toBe(true);
    await until(
      () => errors.includes("not-authorized"),
      "the stream error of the disabled account's session",
    );
    expect(await sessionsOf(`alice@${domain}`)).toEqual([]);
    await live.xmpp.stop().catch(() => {});
    expect(await plainLogin(domain, "alice", "first-password")).toBe("account-disabled");
    await call(t, "PATCH", `/v1/accounts/${jid}`, { key: admin, json: { disabled: false } });
    expect(await plainLogin(domain, "alice", "first-password")).toBe("success");

    const weak = await call(t, "POST", `/v1/accounts/${jid}/password`, {
      key: admin,
      json: { password: "short" },
    });
    expectProblem(weak, 400, "validation");
    expect(weak.body.errors[0]).toMatchObject({ field: "password", in: "body" });
    expect(
      (
        await call(t, "POST", `/v1/accounts/${jid}/password`, {
          key: admin,
          json: { password: "second-password" },
        })
      ).status,
    ).toBe(204);
    expect(await plainLogin(domain, "alice", "first-password")).toBe("not-authorized");
    expect(await plainLogin(domain, "alice", "second-password")).toBe("success");

    expect((await call(t, "DELETE", `/v1/accounts/${jid}`, { key: admin })).status).toBe(204);
    expectProblem(await call(t, "GET", `/v1/accounts/${jid}`, { key: admin }), 404, "not-found");
    expect((await call(t, "GET", "/v1/tenant/usage", { key: admin })).body.accounts).toBe(0);
  });

  it("an invitation creates one account with the member's password, once, and not after it expired", async () => {
    const { admin, domain } = await signUp(t, "invites");
    const inv = await call(t, "POST", "/v1/accounts/invitations", { key: admin, json: { username: "bea" } });
    expect(inv.status, inv.text).toBe(201);
    expect(inv.body.xmppUri).toBe(`xmpp:${domain}?register;preauth=${inv.body.token}`);
    const wrongName = await call(t, "POST", inv.body.redeem, {
      json: { username: "eve", password: "bea-password" },
    });
    expectProblem(wrongName, 400, "validation");
    expect(wrongName.body.errors[0].field).toBe("username");
    const ok = await call(t, "POST", inv.body.redeem, { json: { password: "bea-password" } });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.body.jid).toBe(`bea@${domain}`);
    expect(await plainLogin(domain, "bea", "bea-password")).toBe("success");
    expectProblem(
      await call(t, "POST", inv.body.redeem, { json: { password: "bea-password-2" } }),
      410,
      "invite-unusable",
    );

    const open = await call(t, "POST", "/v1/accounts/invitations", {
      key: admin,
      json: { expiresInSeconds: 3600 },
    });
    // The clock cannot be moved on the hub: the invitation's expiry is moved into the past instead.
    await documents().send(
      new UpdateCommand({
        TableName: tableName("Directory"),
        Key: inviteKey(createHash("sha256").update(open.body.token).digest("hex")),
        UpdateExpression: "SET expiresAt = :past",
        ExpressionAttributeValues: { ":past": Math.floor(Date.now() / 1000) - 1 },
      }),
    );
    expectProblem(
      await call(t, "POST", open.body.redeem, { json: { username: "late", password: "late-password" } }),
      410,
      "invite-unusable",
    );
  });
});

describe("quotas", () => {
  it("a countable resource at its limit is a 403; the daily ingest limit a 429 with Retry-After", async () => {
    const tenant = await signUp(t, "small");
    await setQuotas(tenant.tenantId, { streams: 1, accounts: 1, ingestPerDay: 2 });
    expect((await call(t, "POST", "/v1/streams", { key: tenant.admin, json: { id: "one" } })).status).toBe(
      201,
    );
    const second = await call(t, "POST", "/v1/streams", { key: tenant.admin, json: { id: "two" } });
    expectProblem(second, 403, "quota-exceeded");
    expect(second.body.errors).toEqual([{ field: "streams", reason: "at most 1" }]);
    await call(t, "POST", "/v1/accounts", {
      key: tenant.admin,
      json: { username: "a1", password: "a1-password" },
    });
    expectProblem(
      await call(t, "POST", "/v1/accounts", {
        key: tenant.admin,
        json: { username: "a2", password: "a2-password" },
      }),
      403,
      "quota-exceeded",
    );

    const items = `${streamPath("one")}/items`;
    // A refused pack does not count.
    expectProblem(
      await call(t, "POST", items, { key: tenant.admin, json: [{ n: "x", v: 1, u: "nope" }] }),
      422,
      "invalid-senml",
    );
    for (const v of [1, 2])
      expect((await call(t, "POST", items, { key: tenant.admin, json: [{ n: "x", v }] })).status).toBe(201);
    const third = await call(t, "POST", items, { key: tenant.admin, json: [{ n: "x", v: 3 }] });
    expectProblem(third, 429, "rate-limited");
    const retry = Number(third.headers.get("retry-after"));
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(24 * 3600);
    const usage = await call(t, "GET", "/v1/tenant/usage", { key: tenant.admin });
    expect(usage.body).toMatchObject({
      streams: 1,
      accounts: 1,
      ingestToday: 2,
      limits: { streams: 1, ingestPerDay: 2 },
    });

    // Deleting a stream gives its unit back.
    expect((await call(t, "DELETE", streamPath("one"), { key: tenant.admin })).status).toBe(204);
    expect((await call(t, "POST", "/v1/streams", { key: tenant.admin, json: { id: "two" } })).status).toBe(
      201,
    );
  });
});

describe("custom domains", () => {
  it("stays pending until the DNS TXT challenge is found, then is served by XMPP", async () => {
    // Public DNS cannot be reached here: the app is given a resolver that answers from this map.
    const txt = new Map<string, string[][]>();
    const app = createApp({
      healthChecks: allChecks,
      v1: {
        resolveTxt: async (name) => {
          const found = txt.get(name);
          if (!found) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: "ENOTFOUND" });
          return found;
        },
      },
    });
    const request = (path: string, init: { method: string; key?: string; json?: unknown }) =>
      app.request(path, {
        method: init.method,
        headers: {
          ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
          ...(init.json ? { "content-type": "application/json" } : {}),
        },
        ...(init.json ? { body: JSON.stringify(init.json) } : {}),
      });
    const signup = await request("/v1/signup", {
      method: "POST",
      json: { name: "Own Domain", contactEmail: "a@own.example", customDomain: "Own.Example" },
    });
    expect(signup.status).toBe(201);
    const { tenant, apiKey } = (await signup.json()) as {
      tenant: {
        customDomain: { domain: string; status: string; challenge: { name: string; value: string } };
      };
      apiKey: { key: string };
    };
    expect(tenant.customDomain).toMatchObject({ domain: "own.example", status: "pending" });
    expect(tenant.customDomain.challenge.name).toBe("_relais-challenge.own.example");
    expect(await hostedDomain("own.example")).toBeUndefined();

    const missing = await request("/v1/tenant/domain/verify", { method: "POST", key: apiKey.key });
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { type: string }).type).toBe("urn:relais:problem:domain-not-verified");
    txt.set("_relais-challenge.own.example", [["someone-else"]]);
    expect((await request("/v1/tenant/domain/verify", { method: "POST", key: apiKey.key })).status).toBe(422);

    // A TXT value longer than 255 bytes comes split in strings: they are joined.
    const v = tenant.customDomain.challenge.value;
    txt.set("_relais-challenge.own.example", [["unrelated"], [v.slice(0, 10), v.slice(10)]]);
    const verified = await request("/v1/tenant/domain/verify", { method: "POST", key: apiKey.key });
    expect(verified.status).toBe(200);
    expect(((await verified.json()) as { customDomain: { status: string } }).customDomain.status).toBe(
      "verified",
    );
    expect((await hostedDomain("own.example"))?.tenantId).toBeDefined();
  });

  it("sign-up needs the operator's code when one is set", async () => {
    const app = createApp({ healthChecks: allChecks, v1: { signupCode: () => "open-sesame" } });
    const body = (code?: string) =>
      JSON.stringify({
        name: "Gated",
        contactEmail: "g@gated.example",
        ...(code ? { signupCode: code } : {}),
      });
    const post = (code?: string) =>
      app.request("/v1/signup", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: body(code),
      });
    const refused = await post("wrong");
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { type: string }).type).toBe("urn:relais:problem:signup-closed");
    expect((await post("open-sesame")).status).toBe(201);
    // The slug came from the name; taking it again is a conflict naming the slug.
    const again = await post("open-sesame");
    expect(again.status).toBe(409);
    expect(((await again.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe("slug");
  });
});
