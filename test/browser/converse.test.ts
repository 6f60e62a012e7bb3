import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyRosterChanges } from "../../shared/directory/rosters";
import { startTestHub, type TestHub } from "../support/hub";
import { connectClient, waitFor, xml } from "../support/xmpp-client";
import { type ConversePage, startConversePage } from "./converse-page";

const chromiumPath = "/usr/bin/chromium";
const domain = "converse.test";

let t: TestHub;
let page: ConversePage;
let browser: BrowserContext;
let profileDir: string;

/**
 * Everything the browser saw (XMPP frames both ways, console, failed requests): printed when a step fails
 * and kept in /tmp/converse-trace.log, so a server fault can be pinned to a frame.
 */
const trace: string[] = [];

function isLoopback(url: string): boolean {
  const { protocol, hostname } = new URL(url);
  if (protocol === "data:" || protocol === "blob:") return true;
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "[::1]";
}

async function openPage(): Promise<Page> {
  const p = await browser.newPage();
  // Converse's login page fetches its logo from conversejs.org (INTEROP-NOTES): nothing leaves loopback.
  await p.route("**/*", (route) => (isLoopback(route.request().url()) ? route.continue() : route.abort()));
  p.on("console", (m) => trace.push(`console.${m.type()}: ${m.text()}`));
  p.on("requestfailed", (r) => trace.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  p.on("response", (r) => {
    if (r.status() >= 400) trace.push(`http ${r.status()}: ${r.url()}`);
  });
  p.on("pageerror", (e) => trace.push(`pageerror: ${e.message}`));
  p.on("websocket", (ws) => {
    trace.push(`ws open ${ws.url()}`);
    ws.on("framesent", (f) => trace.push(`C: ${String(f.payload)}`));
    ws.on("framereceived", (f) => trace.push(`S: ${String(f.payload)}`));
    ws.on("close", () => trace.push("ws closed"));
  });
  return p;
}

/** Runs a step; on failure, dumps the browser's trace and a screenshot before rethrowing. */
async function step<T>(p: Page, name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    await p.screenshot({ path: `/tmp/converse-failed-${name}.png` }).catch(() => {});
    console.error(`step "${name}" failed; browser trace:\n${trace.join("\n")}`);
    throw err;
  }
}

describe.skipIf(!existsSync(chromiumPath))(`Converse.js in Chromium (needs ${chromiumPath})`, () => {
  beforeAll(async () => {
    t = await startTestHub({ domains: [domain] });
    page = await startConversePage({
      websocket_url: t.wsUrl,
      discover_connection_methods: false,
      view_mode: "fullscreen",
      authentication: "login",
      auto_login: false,
      loglevel: "debug",
      i18n: "en",
      play_sounds: false,
      show_desktop_notifications: false,
    });
    profileDir = await mkdtemp(join(tmpdir(), "relais-chromium-"));
    // A fresh profile each run: Converse keeps its session in IndexedDB and would log straight back in.
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: chromiumPath,
      viewport: { width: 1280, height: 800 },
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });
  afterAll(async () => {
    await writeFile("/tmp/converse-trace.log", `${trace.join("\n")}\n`).catch(() => {});
    await browser?.close();
    await page?.close();
    await t?.stop();
    if (profileDir) await rm(profileDir, { recursive: true, force: true });
  });

  it("logs in through the form, shows the roster, chats with an @xmpp/client account, logs out", async () => {
    const alice = await t.account(`conv-alice@${domain}`);
    const bob = await t.account(`conv-bob@${domain}`);
    await applyRosterChanges(alice.jid, [
      {
        kind: "put",
        item: { jid: bob.jid, name: "Bob Bricoleur", groups: ["Voisins"], subscription: "both" },
      },
    ]);
    await applyRosterChanges(bob.jid, [
      { kind: "put", item: { jid: alice.jid, name: "Alice", groups: [], subscription: "both" } },
    ]);

    // Bob is online first, as an interested resource (INTEROP-NOTES), so Alice's login is seen by him.
    const b = await connectClient({ service: t.wsUrl, ...bob, resource: "atelier" });
    await b.xmpp.iqCaller.request(xml("iq", { type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })));
    await b.xmpp.send(xml("presence"));

    const p = await openPage();
    await p.goto(page.url);

    await step(p, "login", async () => {
      await p.locator("#converse-login-jid").fill(alice.jid);
      await p.locator("#converse-login-password").fill(alice.password);
      await p.locator("#converse-login button[type=submit]").click();
      await p.locator(`a.open-chat[data-jid="${bob.jid}"]`).waitFor({ timeout: 15_000 });
    });
    const contact = p.locator(`a.open-chat[data-jid="${bob.jid}"]`);
    await expect.poll(() => contact.locator(".contact-name").textContent()).toBe("Bob Bricoleur");
    // Bob's presence reached Alice: Converse marks him online in the roster.
    await step(p, "presence", () => contact.locator(".contact-name--online").waitFor({ timeout: 10_000 }));
    // Alice's initial presence reached Bob, from the resource Converse bound.
    const aliceOnline = await waitFor(
      b.inbox,
      (s) => s.is("presence") && String(s.attrs.from).startsWith(`${alice.jid}/`) && !s.attrs.type,
    );
    const aliceFull = String(aliceOnline.attrs.from);
    await p.screenshot({ path: "/tmp/converse-1-roster.png" });

    await step(p, "send", async () => {
      await contact.click();
      const textarea = p.locator(`converse-chat[jid="${bob.jid}"] textarea.chat-textarea`);
      await textarea.waitFor({ timeout: 10_000 });
      await textarea.click();
      await p.keyboard.type("Salut Bob, le compteur tourne ?");
      await p.keyboard.press("Enter");
    });
    const got = await waitFor(
      b.inbox,
      (s) => s.is("message") && s.getChildText("body") === "Salut Bob, le compteur tourne ?",
    );
    expect(got.attrs.from).toBe(aliceFull);
    expect(got.attrs.type).toBe("chat");

    await b.xmpp.send(
      xml(
        "message",
        { to: aliceFull, type: "chat", id: "reply-1" },
        xml("body", {}, "Oui, 3,2 kW en ce moment."),
      ),
    );
    await step(p, "receive", () =>
      p
        .locator(`converse-chat[jid="${bob.jid}"] .chat-msg__text`, { hasText: "Oui, 3,2 kW en ce moment." })
        .waitFor({ timeout: 10_000 }),
    );
    await p.screenshot({ path: "/tmp/converse-2-chat.png" });

    await step(p, "logout", async () => {
      await p.locator("a.show-profile").click();
      await p.locator("converse-profile-modal button.btn-danger", { hasText: "Log out" }).click();
      await p.locator("form.confirm button[type=submit]", { hasText: "Confirm" }).click();
      await p.locator("#converse-login-jid").waitFor({ timeout: 10_000 });
    });
    await p.screenshot({ path: "/tmp/converse-3-logged-out.png" });
    // A real logout, not a dropped socket: Converse said goodbye on the stream before closing it.
    await expect.poll(() => trace.includes("ws closed")).toBe(true);
    const sent = trace.filter((l) => l.startsWith("C: "));
    expect(sent.at(-1)).toMatch(/^C: <close xmlns="urn:ietf:params:xml:ns:xmpp-framing"\/>$/);
    expect(sent.at(-2)).toMatch(/^C: <presence type="unavailable"/);

    await p.close();
    await b.xmpp.stop();
  }, 60_000);
});
