import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getConsent } from "../../shared/consent/store";
import { call, signUp } from "../api/api-client";
import { startTestHub, type TestHub } from "../support/hub";
import { basic, type Person, person, personalStream, requestConsent, type Tenant } from "./helpers";

// The data subject's console page: the consents listed, decided with a button, and forms from another
// site refused.

let t: TestHub;
let a: Tenant;
let alice: Person;
let bob: Person;
const STREAM = "urn:dev:prm:console_household";

beforeAll(async () => {
  t = await startTestHub({ domains: ["console.test"] });
  a = await signUp(t, "consoled");
  alice = await person(t, a, "alice");
  bob = await person(t, a, "bob");
  await personalStream(t, a, STREAM, alice);
});
afterAll(async () => {
  await t?.stop();
});

const page = async (p: Person) => {
  const res = await fetch(`${t.httpUrl}/console/me`, { headers: { authorization: basic(p) } });
  return { status: res.status, text: await res.text(), type: res.headers.get("content-type") ?? "" };
};

async function press(
  p: Person,
  consentId: string,
  action: string,
  form: Record<string, string>,
  headers = {},
) {
  return fetch(`${t.httpUrl}/console/me/consents/${consentId}/${action}`, {
    method: "POST",
    redirect: "manual",
    headers: { authorization: basic(p), "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

describe("the data subject's console page", () => {
  it("asks the browser to log in", async () => {
    const res = await fetch(`${t.httpUrl}/console/me`);
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic/);
  });

  it("lists a request, allows it for fewer days, then withdraws it; refuses forged forms", async () => {
    const id = await requestConsent(t, a, alice, { kind: "jid", id: bob.jid }, [STREAM], {
      purposes: [{ code: "ServiceOptimisation", text: "tariff <b>advice</b>" }],
    });
    const first = await page(alice);
    expect(first.status).toBe(200);
    expect(first.type).toMatch(/text\/html/);
    expect(first.text).toContain(bob.jid);
    expect(first.text).toContain("tariff &lt;b&gt;advice&lt;/b&gt;");
    expect(first.text).not.toContain("<b>advice</b>");
    const token = /name="token" value="([^"]+)"/.exec(first.text)?.[1] ?? "";
    expect(token).not.toBe("");

    // A form from another site, or without the page's token, is refused.
    expect((await press(alice, id, "grant", { token }, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await press(alice, id, "grant", { token: "forged" })).status).toBe(403);
    expect((await getConsent(id))?.record.state).toBe("requested");
    // Alice's page's token does not work for bob: it is bound to its subject.
    expect((await press(bob, id, "withdraw", { token })).status).toBe(403);

    const granted = await press(alice, id, "grant", { token, validDays: "30" });
    expect(granted.status).toBe(303);
    expect(granted.headers.get("location")).toBe("/console/me");
    const record = (await getConsent(id))?.record;
    expect(record?.state).toBe("granted");
    expect(record?.validDays).toBe(30);
    expect((await page(alice)).text).toMatch(/class="state">granted</);

    expect((await press(alice, id, "withdraw", { token })).status).toBe(303);
    expect((await getConsent(id))?.record.state).toBe("withdrawn");
    const receipts = await call(t, "GET", "/v1/me/receipts", { headers: { authorization: basic(alice) } });
    expect(receipts.body.receipts.map((r: { receipt: { event: string } }) => r.receipt.event)).toEqual([
      "granted",
      "withdrawn",
    ]);
  });
});
