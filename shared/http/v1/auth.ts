// Authentication of /v1 requests by API key, and scopes. Reusable by any router mounted under /v1
// (webhooks, consents...): mountScoped(v1, "/webhooks", router, ["admin"]) gives every route of `router`
// an authenticated c.var.auth, confined to its tenant, and refuses other scopes with 403.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { type ApiKey, type Scope, verifyApiKey } from "../../tenants/api-keys";
import { getTenant, type Tenant } from "../../tenants/tenants";
import { ProblemError } from "../problem";

export interface AuthContext {
  readonly key: ApiKey;
  readonly tenant: Tenant;
}

/** The Hono environment of authenticated routers: c.var.auth. */
export interface ApiEnv {
  Variables: { auth: AuthContext };
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** Resolves `Authorization: Bearer <key>` to its key and tenant; 401 otherwise. Runs once per request. */
export const authenticate: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (c.get("auth")) return next();
  const header = c.req.header("authorization");
  const m = header ? BEARER.exec(header) : null;
  const challenge = { "www-authenticate": 'Bearer realm="relais"' };
  if (!m) {
    throw new ProblemError(
      "unauthorized",
      "send the API key as Authorization: Bearer <key>",
      [{ field: "Authorization", reason: header ? "not a Bearer credential" : "missing", in: "header" }],
      challenge,
    );
  }
  const key = await verifyApiKey(m[1] as string);
  const tenant = key ? await getTenant(key.tenantId) : undefined;
  if (!key || !tenant) {
    throw new ProblemError(
      "unauthorized",
      "the API key is unknown, revoked or rotated",
      [{ field: "Authorization", reason: "no such key", in: "header" }],
      { "www-authenticate": 'Bearer realm="relais", error="invalid_token"' },
    );
  }
  c.set("auth", { key, tenant });
  return next();
};

/** 403 unless the request's key has one of `scopes`. Put after `authenticate`. */
export function requireScope(...scopes: Scope[]): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const { key } = auth(c);
    if (!scopes.includes(key.scope)) {
      throw new ProblemError("forbidden", `this needs a key with scope ${scopes.join(" or ")}`, [
        { field: "Authorization", reason: `the key's scope is ${key.scope}`, in: "header" },
      ]);
    }
    return next();
  };
}

/** The authenticated caller; throws when the router was mounted without `authenticate`. */
export function auth(c: Context<ApiEnv>): AuthContext {
  const a = c.get("auth");
  if (!a) throw new Error("route reached without authentication: mount it with mountScoped");
  return a;
}

/**
 * Mounts `router` at `path` under `parent` (the /v1 app), every route of it authenticated and, when
 * `scopes` is given, limited to keys with one of them. Routes may narrow further with requireScope.
 * Its OpenAPI routes join the document, with the bearer security scheme.
 */
export function mountScoped(
  parent: OpenAPIHono<ApiEnv>,
  path: string,
  router: OpenAPIHono<ApiEnv>,
  scopes?: readonly Scope[],
): void {
  const guards: MiddlewareHandler<ApiEnv>[] = [authenticate];
  if (scopes) guards.push(requireScope(...scopes));
  parent.use(path, ...guards);
  parent.use(`${path}/*`, ...guards);
  parent.route(path, router);
}

/** OpenAPI security requirement for authenticated routes. */
export const bearerSecurity = [{ bearer: [] }];
