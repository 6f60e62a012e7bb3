import { Hono } from "hono";
import { type HealthCheck, runChecks } from "../health";

export interface AppOptions {
  /** Components to report on /health; the local hub adds its emulators to the storage checks. */
  readonly healthChecks: () => readonly HealthCheck[];
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
  return app;
}
