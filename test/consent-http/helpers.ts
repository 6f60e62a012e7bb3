import { expect } from "vitest";
import { type Answer, call, type signUp, streamPath } from "../api/api-client";
import type { TestHub } from "../support/hub";

// Steps shared by the consent tests over HTTP: a tenant with accounts and a personal-data stream, the
// subject's own calls with HTTP Basic, a consent requested by the tenant's admin.

export type Tenant = Awaited<ReturnType<typeof signUp>>;
export interface Person {
  readonly jid: string;
  readonly password: string;
}

export const basic = (p: Person) => `Basic ${Buffer.from(`${p.jid}:${p.password}`).toString("base64")}`;

/** A call to /v1/me as `p`. */
export function me(t: TestHub, p: Person, method: string, path: string, json?: unknown): Promise<Answer> {
  return call(t, method, `/v1/me${path}`, {
    headers: { authorization: basic(p) },
    ...(json === undefined ? {} : { json }),
  });
}

export async function person(t: TestHub, tenant: Tenant, username: string): Promise<Person> {
  const password = `${username}-password-${Math.random().toString(36).slice(2, 8)}`;
  const a = await call(t, "POST", "/v1/accounts", { key: tenant.admin, json: { username, password } });
  expect(a.status, a.text).toBe(201);
  return { jid: a.body.jid as string, password };
}

export async function personalStream(t: TestHub, tenant: Tenant, id: string, subject: Person): Promise<void> {
  const s = await call(t, "POST", "/v1/streams", {
    key: tenant.admin,
    json: { id, accessModel: "open", dataSubject: subject.jid },
  });
  expect(s.status, s.text).toBe(201);
  expect(s.body.dataSubject).toBe(subject.jid);
}

export async function ingest(t: TestHub, tenant: Tenant, stream: string, pack: unknown[]): Promise<string> {
  const a = await call(t, "POST", `${streamPath(stream)}/items`, { key: tenant.admin, json: pack });
  expect(a.status, a.text).toBe(201);
  return a.body.itemId as string;
}

/** The tenant's admin asks `subject` for a consent; returns its id. */
export async function requestConsent(
  t: TestHub,
  tenant: Tenant,
  subject: Person,
  recipient: { kind: string; id: string },
  streams: string[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const a = await call(t, "POST", "/v1/consents", {
    key: tenant.admin,
    json: {
      subject: subject.jid,
      recipient,
      scope: { streams: streams.map((node) => ({ service: tenant.service, node })) },
      purposes: [{ code: "ServiceOptimisation", text: "tariff advice" }],
      retentionDays: 30,
      validDays: 365,
      ...extra,
    },
  });
  expect(a.status, a.text).toBe(201);
  expect(a.body.state).toBe("requested");
  return a.body.consentId as string;
}

/** Lines of an ndjson body. */
export const ndjson = (text: string): Record<string, unknown>[] =>
  text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
