import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";

// Every setting of the local hub, with its environment variable and default. A JSON file named by
// RELAIS_CONFIG may hold the same keys (camelCase); the environment wins over the file.

const port = z.coerce.number().int().min(1).max(65535);

const schema = z.object({
  dataDir: z.string().min(1).default("./data"),
  host: z.string().min(1).default("127.0.0.1"),
  httpPort: port.default(8080),
  wsPort: port.default(5280),
  dynamodbPort: port.default(8000),
  sqsPort: port.default(9324),
  region: z.string().min(1).default("eu-west-3"),
  domains: z
    .string()
    .default("localhost")
    .transform((s) =>
      s
        .split(",")
        .map((d) => d.trim().toLowerCase())
        .filter(Boolean),
    ),
  dynamodbSync: z.enum(["off", "full"]).default("off"),
  ttlSweepSeconds: z.coerce.number().positive().default(30),
  wsIdleTimeoutSeconds: z.coerce.number().positive().default(600),
  wsMaxConnectionSeconds: z.coerce.number().positive().default(7200),
  wsFrameBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(32 * 1024),
  wsMessageBytes: z.coerce
    .number()
    .int()
    .positive()
    .default(128 * 1024),
});

export type HubConfig = z.infer<typeof schema>;

/** Which environment variable sets which key: shown in errors and in the README. */
export const envVars: Record<keyof HubConfig, string> = {
  dataDir: "RELAIS_DATA_DIR",
  host: "RELAIS_HOST",
  httpPort: "RELAIS_HTTP_PORT",
  wsPort: "RELAIS_WS_PORT",
  dynamodbPort: "RELAIS_DYNAMODB_PORT",
  sqsPort: "RELAIS_SQS_PORT",
  region: "RELAIS_REGION",
  domains: "RELAIS_DOMAINS",
  dynamodbSync: "RELAIS_DYNAMODB_SYNC",
  ttlSweepSeconds: "RELAIS_TTL_SWEEP_SECONDS",
  wsIdleTimeoutSeconds: "RELAIS_WS_IDLE_TIMEOUT_SECONDS",
  wsMaxConnectionSeconds: "RELAIS_WS_MAX_CONNECTION_SECONDS",
  wsFrameBytes: "RELAIS_WS_FRAME_BYTES",
  wsMessageBytes: "RELAIS_WS_MESSAGE_BYTES",
};

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads the configuration; `overrides` (tests) win over the environment, which wins over the file. */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<Record<keyof HubConfig, unknown>> = {},
): HubConfig {
  let fromFile: Record<string, unknown> = {};
  const file = env.RELAIS_CONFIG;
  if (file) {
    try {
      fromFile = JSON.parse(readFileSync(resolve(file), "utf8")) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`RELAIS_CONFIG=${file}: cannot read it as JSON (${(err as Error).message})`);
    }
  }
  const raw: Record<string, unknown> = { ...fromFile };
  for (const [key, name] of Object.entries(envVars)) {
    if (env[name] !== undefined && env[name] !== "") raw[key] = env[name];
  }
  Object.assign(raw, overrides);
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0] ?? "");
      const source = key in envVars ? envVars[key as keyof HubConfig] : key;
      return `  ${source}: ${i.message}`;
    });
    throw new ConfigError(`invalid configuration:\n${lines.join("\n")}`);
  }
  return { ...parsed.data, dataDir: resolve(parsed.data.dataDir) };
}
