import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getConsent } from "../../shared/consent/store";
import { signUp } from "../api/api-client";
import { person, personalStream, requestConsent } from "../consent-http/helpers";
import { startTestHub, type TestHub } from "../support/hub";

// A household in a real browser: logs in to the console page with the browser's own Basic prompt
// (credentials given to the browser context), sees who asks for its data and why, clicks Allow, then
// Withdraw.

const chromiumPath = "/usr/bin/chromium";
let t: TestHub;
let browser: BrowserContext | undefined;
let profileDir = "";

describe.skipIf(!existsSync(chromiumPath))(`the consent console in Chromium (needs ${chromiumPath})`, () => {
  beforeAll(async () => {
    t = await startTestHub({ domains: ["browser-console.test"] });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.stop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
  });

  it("allows and withdraws with the page's buttons", { timeout: 90_000 }, async () => {
    const tenant = await signUp(t, "households");
    const household = await person(t, tenant, "household");
    const advisor = await person(t, tenant, "advisor");
    const stream = "urn:dev:prm:browser_household";
    await personalStream(t, tenant, stream, household);
    const id = await requestConsent(t, tenant, household, { kind: "jid", id: advisor.jid }, [stream]);

    profileDir = await mkdtemp(join(tmpdir(), "relais-chromium-console-"));
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: chromiumPath,
      httpCredentials: { username: household.jid, password: household.password },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
      ],
    });
    const page = await browser.newPage();
    await page.goto(`${t.httpUrl}/console/me`);
    await page.getByText("Who receives my data").waitFor();
    const row = page.locator(`tr[data-consent="${id}"]`);
    expect(await row.textContent()).toContain(advisor.jid);
    expect(await row.textContent()).toContain("tariff advice");
    await row.locator('input[name="validDays"]').fill("60");
    await row.getByRole("button", { name: "Allow" }).click();
    await row.locator(".state", { hasText: "granted" }).waitFor();
    expect((await getConsent(id))?.record).toMatchObject({ state: "granted", validDays: 60 });

    await row.getByRole("button", { name: "Withdraw" }).click();
    await row.locator(".state", { hasText: "withdrawn" }).waitFor();
    expect((await getConsent(id))?.record.state).toBe("withdrawn");
  });
});
