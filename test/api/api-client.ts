// A small fetch client for the /v1 API in tests: real HTTP to the hub's HTTP port.
import { expect } from "vitest";
import type { TestHub } from "../support/hub";

export interface Answer {
  readonly status: number;
  readonly type: string;
  readonly headers: Headers;
  // The body as JSON when it is JSON: tests look into it field by field.
  // biome-ignore lint/suspicious/noExplicitAny: test helper over arbitrary JSON answers
  readonly body: any;
  readonly text: string;
}

export async function call(
  t: TestHub,
  method: string,
  path: string,
  opts: {
    key?: string;
    json?: unknown;
    body?: string | Uint8Array;
    type?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | Uint8Array | undefined = opts.body;
  if (opts.json !== undefined) {
    body = JSON.stringify(opts.json);
    headers["content-type"] = opts.type ?? "application/json";
  } else if (opts.type) headers["content-type"] = opts.type;
  const res = await fetch(`${t.httpUrl}${path}`, { method, headers, body });
  const text = await res.text();
  const type = res.headers.get("content-type") ?? "";
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, type, headers: res.headers, body: parsed, text };
}

/** Asserts a problem+json answer with this status and problem type name. */
export function expectProblem(a: Answer, status: number, name: string): void {
  expect(a.status, a.text).toBe(status);
  expect(a.type).toMatch(/^application\/problem\+json/);
  expect(a.body.type).toBe(`urn:relais:problem:${name}`);
  expect(a.body.status).toBe(status);
  expect(typeof a.body.title).toBe("string");
}

let n = 0;
/** Signs a tenant up; returns its admin key and domain. */
export async function signUp(t: TestHub, slug = `asso${Date.now().toString(36)}${n++}`) {
  const a = await call(t, "POST", "/v1/signup", {
    json: { name: `Association ${slug}`, contactEmail: `admin@${slug}.example`, slug },
  });
  expect(a.status, a.text).toBe(201);
  return {
    tenantId: a.body.tenant.tenantId as string,
    domain: a.body.tenant.domain as string,
    service: a.body.tenant.pubsubService as string,
    admin: a.body.apiKey.key as string,
  };
}

export const streamPath = (id: string) => `/v1/streams/${encodeURIComponent(id)}`;
