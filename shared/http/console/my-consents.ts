// The data subject's page of the web console: every consent about them, with its purpose, recipient,
// scope, dates and state; grant, refuse or withdraw with one button; what was delivered to whom per
// day; a link to the export. Server-rendered HTML (hono/html escapes every value), plain forms, no
// script: it works in any browser, logged in with the XMPP account through the browser's own Basic
// prompt. Forms carry a token bound to the subject, and a cross-site POST is refused, since a browser
// would send the cached Basic credentials along with it.
import { createHmac, timingSafeEqual } from "node:crypto";
import { Hono } from "hono";
import { html, raw } from "hono/html";
import { readChain } from "../../consent/audit";
import { deliveryCounts } from "../../consent/delivery-log";
import { chainOf } from "../../consent/layout";
import type { ConsentRecord } from "../../consent/record";
import { consentsOfSubject } from "../../consent/store";
import { PURPOSES, type Purpose } from "../../consent/vocabulary";
import { ProblemError } from "../problem";
import { decideAsSubject } from "../v1/routes/me";
import { authenticateSubject, type SubjectEnv, saslSecret, subjectOf } from "../v1/subject-auth";

const ACTIONS = { grant: "granted", refuse: "refused", withdraw: "withdrawn" } as const;

function formToken(jid: string): string {
  return createHmac("sha256", saslSecret()).update(`console-form:${jid}`).digest("base64url");
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const when = (iso?: string) => (iso ? iso.slice(0, 16).replace("T", " ") : "");

function consentRow(r: ConsentRecord, token: string) {
  const purposes = r.purposes.map((p) => p.text ?? PURPOSES[p.code as Purpose] ?? p.code).join("; ");
  const streams = r.scope.streams.map((s) => s.node).join(", ");
  const names = r.scope.names ? ` (only ${r.scope.names.join(", ")})` : "";
  const button = (action: keyof typeof ACTIONS, label: string, extra = html``) => html`
    <form method="post" action="/console/me/consents/${r.consentId}/${action}">
      <input type="hidden" name="token" value="${token}">${extra}
      <button type="submit">${label}</button>
    </form>`;
  const actions =
    r.state === "requested"
      ? html`${button(
          "grant",
          "Allow",
          html` for <input name="validDays" type="number" min="1" max="${r.validDays}" value="${r.validDays}" size="4"> days`,
        )}${button("refuse", "Refuse")}`
      : r.state === "granted"
        ? button("withdraw", "Withdraw")
        : html``;
  return html`<tr data-consent="${r.consentId}">
    <td>${r.recipient.id}<br><small>${r.recipient.kind}</small></td>
    <td>${purposes}<br><small>${r.legalBasis}; kept ${r.retentionDays} days by the recipient</small></td>
    <td>${streams}${names}</td>
    <td class="state">${r.state}</td>
    <td>${when(r.validFrom)}${r.validUntil ? html` → ${when(r.validUntil)}` : html``}</td>
    <td>${actions}</td>
  </tr>`;
}

export function consoleRoutes(): Hono<SubjectEnv> {
  const app = new Hono<SubjectEnv>();
  app.use("*", authenticateSubject);
  app.get("/me", async (c) => {
    const { jid, tenant } = subjectOf(c);
    const consents = await consentsOfSubject(tenant.tenantId, jid);
    const counts = deliveryCounts((await readChain(chainOf(tenant.tenantId, jid))).entries);
    const token = formToken(jid);
    return c.html(html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>My data: who receives it</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.4em;vertical-align:top}form{display:inline}</style>
</head><body>
<h1>Who receives my data</h1>
<p>Logged in as <strong>${jid}</strong> (${tenant.domain}). Every sharing of your data needs your consent here; you can withdraw it at any time.</p>
<table><thead><tr><th>Recipient</th><th>Why</th><th>What</th><th>State</th><th>Valid</th><th></th></tr></thead>
<tbody>${consents.length === 0 ? raw("<tr><td colspan=6>No consent asked yet.</td></tr>") : consents.map((s) => consentRow(s.record, token))}</tbody></table>
<h2>What was delivered, per day</h2>
<table><thead><tr><th>Day</th><th>Recipient</th><th>Delivered</th><th>Refused</th></tr></thead>
<tbody>${counts.map((d) => html`<tr><td>${d.day}</td><td>${d.recipient}</td><td>${d.delivered}</td><td>${d.refused}</td></tr>`)}</tbody></table>
<p><a href="/v1/me/export">Download all my data</a> (SenML, consents and receipts, as JSON lines).</p>
</body></html>`);
  });
  app.post("/me/consents/:id/:action", async (c) => {
    const action = c.req.param("action");
    if (!(action in ACTIONS)) throw new ProblemError("not-found", `no action ${action}`);
    // A form of another site would come with the browser's cached credentials: refuse it.
    const site = c.req.header("sec-fetch-site");
    const form = await c.req.parseBody();
    const token = typeof form.token === "string" ? form.token : "";
    if (
      (site && site !== "same-origin" && site !== "none") ||
      !sameToken(token, formToken(subjectOf(c).jid))
    ) {
      throw new ProblemError("forbidden", "this form did not come from your console page", [
        { field: "token", reason: "missing or not yours", in: "body" },
      ]);
    }
    const days = Number(form.validDays);
    await decideAsSubject(c, c.req.param("id"), ACTIONS[action as keyof typeof ACTIONS], {
      ...(Number.isInteger(days) && days > 0 ? { validDays: days } : {}),
    });
    return c.redirect("/console/me", 303);
  });
  return app;
}
