import { connectionsEndpointEnvVar, queueEnvVar, tableEnvVar } from "../../infra/manifest";

// Handlers find their resources through plain environment variables, set by SST on AWS and by the
// local hub in one process. Read at call time, not at import, so one process can host a restarted hub.

function required(name: string, what: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${what} is not configured: environment variable ${name} is unset`);
  return value;
}

export const tableName = (logical: string): string => required(tableEnvVar(logical), `table ${logical}`);
export const queueUrl = (logical: string): string => required(queueEnvVar(logical), `queue ${logical}`);
export const connectionsEndpoint = (): string =>
  required(connectionsEndpointEnvVar, "the WebSocket @connections endpoint");
