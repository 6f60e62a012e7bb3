import { handle } from "hono/aws-lambda";
import { allChecks } from "../../shared/health";
import { createApp } from "../../shared/http/app";

/** The app itself, which the local hub serves directly with @hono/node-server. */
export const app = createApp({ healthChecks: allChecks });

export const handler = handle(app);
