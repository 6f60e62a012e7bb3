// The /v1 HTTP API: one OpenAPIHono app whose zod schemas validate requests and generate the OpenAPI
// document (/v1/openapi.json, with a reference page at /v1/docs). Every error is RFC 9457 problem+json.
import { resolveTxt as dnsResolveTxt } from "node:dns/promises";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { ProblemError, problemOf, problemResponse } from "../problem";
import { type ApiEnv, mountScoped } from "./auth";
import { newRouter, type ResolveTxt, type V1Settings } from "./router";
import { accountRoutes, inviteRoutes } from "./routes/accounts";
import { consentRoutes, tenantKeyRoutes } from "./routes/consents";
import { keyRoutes } from "./routes/keys";
import { meRoutes } from "./routes/me";
import { streamRoutes } from "./routes/streams";
import { signupRoutes, tenantRoutes } from "./routes/tenant";
import { deliveryRoutes, webhookRoutes } from "./routes/webhooks";

export interface V1Options {
  /** Injected so tests can stand in for public DNS, which they cannot reach. */
  readonly resolveTxt?: ResolveTxt;
  /** The deployment's base domain; tenants get <slug>.<base>. Read at request time. */
  readonly baseDomain?: () => string;
  /** When set, sign-up requires this code (see settings). Read at request time. */
  readonly signupCode?: () => string | undefined;
  readonly maxBodyBytes?: number;
}

/** Bodies above this are refused with 413 before they are read whole: a SenML pack of 1,000 records fits. */
export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;

export function settingsFromEnv(opts: V1Options = {}): V1Settings {
  return {
    resolveTxt: opts.resolveTxt ?? dnsResolveTxt,
    baseDomain:
      opts.baseDomain ??
      (() =>
        (
          process.env.RELAIS_BASE_DOMAIN ||
          process.env.RELAIS_DOMAINS?.split(",")[0] ||
          "localhost"
        ).toLowerCase()),
    signupCode: opts.signupCode ?? (() => process.env.RELAIS_SIGNUP_CODE || undefined),
  };
}

const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** Paths that read their own body type (SenML in JSON or XML): every other body must be JSON. */
const OWN_CONTENT_TYPES = /\/streams\/[^/]+\/items$/;

export function createV1(opts: V1Options = {}): OpenAPIHono<ApiEnv> {
  const settings = settingsFromEnv(opts);
  const v1 = newRouter();
  const maxSize = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;

  v1.use(
    "*",
    bodyLimit({
      maxSize,
      onError: () => {
        // The rest of the body is not read: the connection cannot carry another request after it.
        throw new ProblemError(
          "payload-too-large",
          `the body is larger than ${maxSize} bytes`,
          [{ field: "(body)", reason: `at most ${maxSize} bytes`, in: "body" }],
          { connection: "close" },
        );
      },
    }),
  );
  v1.use("*", async (c, next) => {
    if (BODY_METHODS.has(c.req.method) && hasBody(c) && !OWN_CONTENT_TYPES.test(c.req.path)) {
      const type = c.req.header("content-type") ?? "";
      if (!/^application\/json\s*(;|$)/i.test(type)) {
        throw new ProblemError("unsupported-media-type", "send the body as application/json", [
          { field: "Content-Type", reason: type ? `${type} is not accepted` : "missing", in: "header" },
        ]);
      }
    }
    return next();
  });

  v1.onError(onError);
  v1.openAPIRegistry.registerComponent("securitySchemes", "bearer", {
    type: "http",
    scheme: "bearer",
    description: "An API key: rls_<id>_<secret>",
  });
  v1.openAPIRegistry.registerComponent("securitySchemes", "basic", {
    type: "http",
    scheme: "basic",
    description: "A data subject's XMPP account: base64(jid:password)",
  });

  v1.route("/", signupRoutes(settings));
  v1.route("/", inviteRoutes());
  mountScoped(v1, "/tenant", tenantRoutes(settings));
  mountScoped(v1, "/tenant/keys", tenantKeyRoutes());
  mountScoped(v1, "/keys", keyRoutes(), ["admin"]);
  mountScoped(v1, "/streams", streamRoutes());
  mountScoped(v1, "/accounts", accountRoutes(), ["admin"]);
  mountScoped(v1, "/webhooks", webhookRoutes(), ["admin"]);
  mountScoped(v1, "/webhook-deliveries", deliveryRoutes(), ["admin"]);
  mountScoped(v1, "/consents", consentRoutes());
  // The data subject's door: their XMPP account's password, not an API key (subject-auth.ts).
  v1.route("/me", meRoutes());

  v1.doc31("/openapi.json", {
    openapi: "3.1.0",
    servers: [{ url: "/v1" }],
    info: {
      title: "Relais API",
      version: "1",
      description:
        "Tenants, API keys, data streams (the XMPP PubSub nodes of the tenant's domain), SenML ingest, accounts and invitations, webhooks, consents; the data subject's own door under /me. Errors are RFC 9457 problem+json.",
    },
  });
  v1.get("/docs", Scalar({ url: "/v1/openapi.json", pageTitle: "Relais API" }));
  return v1;
}

function hasBody(c: Context): boolean {
  const length = c.req.header("content-length");
  return (length !== undefined && length !== "0") || c.req.header("transfer-encoding") !== undefined;
}

/** Every error the app answers, as problem+json. */
export function onError(err: Error, c: Context): Response {
  if (err instanceof ProblemError) return problemResponse(err.problem, err.headers);
  if (err instanceof HTTPException) {
    if (err.status === 400 && /JSON/i.test(err.message)) {
      return problemResponse(
        problemOf("bad-json", err.message, [
          { field: "(body)", reason: "not parseable as JSON", in: "body" },
        ]),
      );
    }
    if (err.status === 413) return problemResponse(problemOf("payload-too-large", err.message));
    if (err.status === 415) {
      const type = c.req.header("content-type");
      return problemResponse(
        problemOf("unsupported-media-type", "this content type is not accepted here", [
          { field: "Content-Type", reason: type ? `${type} is not accepted` : "missing", in: "header" },
        ]),
      );
    }
    return problemResponse({ type: "about:blank", title: err.message || "Error", status: err.status });
  }
  console.error(`${c.req.method} ${c.req.path}:`, err);
  return problemResponse(problemOf("internal", "the request failed on the server; it may be retried"));
}

export function notFound(c: Context): Response {
  return problemResponse(
    problemOf("not-found", `no route ${c.req.method} ${c.req.path}`, [
      { field: "(path)", reason: "no such route", in: "path" },
    ]),
  );
}
