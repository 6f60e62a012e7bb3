import { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "hono";
import { fieldErrors, ProblemError } from "../problem";
import type { ApiEnv } from "./auth";

/** A DNS TXT lookup, as node:dns/promises resolveTxt: one array of strings per record. */
export type ResolveTxt = (name: string) => Promise<string[][]>;

/** What the routes need from the deployment, read at request time. */
export interface V1Settings {
  readonly resolveTxt: ResolveTxt;
  /** The deployment's base domain; tenants get <slug>.<base>. */
  readonly baseDomain: () => string;
  /** When set, sign-up requires this code. */
  readonly signupCode: () => string | undefined;
}

/** A /v1 router whose zod failures, in any part of the request, are a 400 problem naming each field. */
export function newRouter<E extends Env = ApiEnv>(): OpenAPIHono<E> {
  return new OpenAPIHono<E>({
    defaultHook: (result) => {
      if (!result.success) {
        const where = result.target === "json" ? "body" : result.target === "param" ? "path" : result.target;
        throw new ProblemError(
          "validation",
          `the request's ${where} does not match the schema`,
          fieldErrors(result.error.issues, where),
        );
      }
    },
  });
}
