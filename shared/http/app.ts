import { Hono } from "hono";
import { type HealthCheck, runChecks } from "../health";
import { consoleRoutes } from "./console/my-consents";
import { createV1, notFound, onError, type V1Options } from "./v1/app";

export interface AppOptions {
  /** Components to report on /health; the local hub adds its emulators to the storage checks. */
  readonly healthChecks: () => readonly HealthCheck[];
  /** Settings of the /v1 API (tests inject a DNS resolver). */
  readonly v1?: V1Options;
}

/** The HTTP API. One Hono app, served by Lambda on AWS and by @hono/node-server locally. */
export function createApp(opts: AppOptions): Hono {
  const app = new Hono();
  app.get("/health", async (c) => {
    const report = await runChecks(opts.healthChecks());
    return c.json(
      { status: report.ok ? "ok" : "degraded", components: report.components },
      report.ok ? 200 : 503,
    );
  });
  app.route("/v1", createV1(opts.v1));
  app.route("/console", consoleRoutes());
  app.onError(onError);
  app.notFound(notFound);
  return app;
}
