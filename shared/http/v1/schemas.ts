// Schemas shared by the /v1 routes: the problem document and the error responses each route lists.
import { z } from "@hono/zod-openapi";
import { PROBLEM_CONTENT_TYPE } from "../problem";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "urn:relais:problem:validation" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z
      .array(z.object({ field: z.string(), reason: z.string(), in: z.string().optional() }))
      .optional()
      .openapi({ description: "Each field at fault, and why" }),
  })
  .openapi("Problem", { description: "RFC 9457 problem details" });

const DESCRIPTIONS: Record<number, string> = {
  400: "Invalid request (problem+json names the fields)",
  401: "Missing or unknown API key",
  403: "The key's scope does not allow this, or a tenant limit is reached",
  404: "No such resource for this tenant",
  409: "Conflict",
  410: "Gone",
  413: "Body too large",
  415: "Unsupported content type",
  422: "Unprocessable (SenML, Idempotency-Key, DNS challenge)",
  429: "Daily limit reached (Retry-After)",
};

/** The error responses of a route, all problem+json. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: DESCRIPTIONS[s] ?? "Error",
        content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema } },
      },
    ]),
  );
}

/** Errors every authenticated route may answer. */
export const AUTH_PROBLEMS = [400, 401, 403, 404, 413, 415] as const;

export const jsonBody = <T extends z.ZodType>(schema: T, description?: string) => ({
  required: true,
  ...(description ? { description } : {}),
  content: { "application/json": { schema } },
});

export const jsonContent = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
