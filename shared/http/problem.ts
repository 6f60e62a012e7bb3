// RFC 9457 problem details: every error the HTTP API answers, in one registry (name -> status and title),
// as Prosody maps failure names to stanza errors in one place. Handlers throw a ProblemError; the app's
// error handler writes it. `errors` names each field at fault, so a client can point at it.

export interface FieldError {
  /** The field at fault: a JSON path ("name", "records.3.u"), a header, a query or path parameter. */
  readonly field: string;
  readonly reason: string;
  /** Where the field is: body, query, path or header. */
  readonly in?: string;
}

export const PROBLEMS = {
  validation: { status: 400, title: "The request is not valid" },
  "bad-json": { status: 400, title: "The body is not valid JSON" },
  unauthorized: { status: 401, title: "An API key is required" },
  forbidden: { status: 403, title: "The API key's scope does not allow this" },
  "quota-exceeded": { status: 403, title: "A limit of the tenant is reached" },
  "consent-required": { status: 403, title: "The data subject's consent is needed" },
  "signup-closed": { status: 403, title: "Sign-up needs the operator's sign-up code" },
  "not-found": { status: 404, title: "Not found" },
  conflict: { status: 409, title: "The resource exists already" },
  "payload-too-large": { status: 413, title: "The body is too large" },
  "unsupported-media-type": { status: 415, title: "The content type is not accepted here" },
  "invalid-senml": { status: 422, title: "The SenML pack is not valid" },
  "idempotency-key-reused": { status: 422, title: "The Idempotency-Key was used with another request" },
  "domain-not-verified": { status: 422, title: "The domain's DNS challenge was not found" },
  "invite-unusable": { status: 410, title: "The invitation is used or expired" },
  "idempotency-in-progress": { status: 409, title: "A request with this Idempotency-Key is in progress" },
  "webhook-url-refused": { status: 422, title: "The endpoint URL is not one webhooks may be sent to" },
  "not-redeliverable": { status: 409, title: "Only a failed or parked delivery can be redelivered" },
  "subject-unauthorized": { status: 401, title: "The account's JID and password are required (HTTP Basic)" },
  "account-locked": { status: 403, title: "The account is disabled, or locked after failed logins" },
  "consent-state": { status: 409, title: "The consent's state does not allow this change" },
  "consent-scope": {
    status: 422,
    title: "The consent request does not fit the tenant's accounts, streams or endpoints",
  },
  "rate-limited": { status: 429, title: "The tenant's daily limit is reached" },
  internal: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ProblemName = keyof typeof PROBLEMS;

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly errors?: readonly FieldError[];
}

/** Problem type URIs: a URN, since the API's deployments have no one public address to document them at. */
export const problemType = (name: ProblemName): string => `urn:relais:problem:${name}`;

export function problemOf(name: ProblemName, detail?: string, errors?: readonly FieldError[]): Problem {
  const def = PROBLEMS[name];
  return {
    type: problemType(name),
    title: def.title,
    status: def.status,
    ...(detail === undefined ? {} : { detail }),
    ...(errors === undefined || errors.length === 0 ? {} : { errors }),
  };
}

/** Thrown by handlers and middleware; the app's error handler answers with it. */
export class ProblemError extends Error {
  override name = "ProblemError";
  readonly problem: Problem;
  constructor(
    name: ProblemName,
    detail?: string,
    errors?: readonly FieldError[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(detail ?? PROBLEMS[name].title);
    this.problem = problemOf(name, detail, errors);
  }
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemResponse(p: Problem, headers: Readonly<Record<string, string>> = {}): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...headers },
  });
}

/** Zod issues (or any with a path and a message) as field errors: "records.0.u", not ["records", 0, "u"]. */
export function fieldErrors(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
  where?: string,
): FieldError[] {
  return issues.map((i) => ({
    field: i.path.length === 0 ? "(root)" : i.path.map(String).join("."),
    reason: i.message,
    ...(where === undefined ? {} : { in: where }),
  }));
}
