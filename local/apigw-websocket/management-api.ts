// The @connections management API (PostToConnection, GetConnection, DeleteConnection) as plain HTTP, in the
// restJson1 form @aws-sdk/client-apigatewaymanagementapi speaks. Signatures are not checked.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { WebSocketIdentity } from "./events";

export interface ManagedConnection {
  readonly connectedAt: number;
  readonly lastActiveAt: number;
  readonly identity: WebSocketIdentity;
  post(data: Buffer): void;
  delete(): void;
}

export interface ManagementApiOptions {
  stage: string;
  /** PostToConnection payload limit; API Gateway's is the 128 KiB message size. */
  maxPayloadBytes: number;
  connection(id: string): ManagedConnection | undefined;
}

// "/@connections/{id}" when the SDK's endpoint is the bare host, "/{stage}/@connections/{id}" when it ends
// in the stage, which is how an execute-api endpoint is written.
const PATH = /^(?:\/([^/]+))?\/@connections\/([^/]+)$/;

/** Sends an error the SDK maps to its modeled exception: restJson1 reads the type from x-amzn-ErrorType. */
function sendError(res: ServerResponse, status: number, type: string, message: string): void {
  res.writeHead(status, { "content-type": "application/json", "x-amzn-ErrorType": type });
  res.end(JSON.stringify({ message }));
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is read and dropped, so the client still gets its answer.
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () => resolve(size > limit ? "too-large" : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

export function managementApi(
  opts: ManagementApiOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const match = PATH.exec(path);
    if (!match) {
      req.resume();
      return sendError(res, 404, "NotFoundException", `No @connections resource at ${path}`);
    }
    const [, stage, rawId] = match;
    if (stage !== undefined && stage !== opts.stage) {
      req.resume();
      return sendError(
        res,
        403,
        "ForbiddenException",
        `Unknown stage ${stage}; this API's stage is ${opts.stage}`,
      );
    }
    let id: string;
    try {
      id = decodeURIComponent(rawId as string);
    } catch {
      req.resume();
      return sendError(res, 400, "BadRequestException", "Malformed connection id");
    }

    if (req.method === "POST") {
      const body = await readBody(req, opts.maxPayloadBytes);
      if (body === "too-large") {
        return sendError(res, 413, "PayloadTooLargeException", "Request entity too large");
      }
      const conn = opts.connection(id);
      if (!conn) return sendError(res, 410, "GoneException", `Connection ${id} is gone`);
      conn.post(body);
      res.writeHead(200).end();
      return;
    }

    req.resume();
    const conn = opts.connection(id);
    if (req.method === "GET") {
      if (!conn) return sendError(res, 410, "GoneException", `Connection ${id} is gone`);
      // jsonName and timestamp format (date-time) as in the SDK's GetConnectionResponse schema.
      const body = {
        connectedAt: new Date(conn.connectedAt).toISOString(),
        identity: conn.identity,
        lastActiveAt: new Date(conn.lastActiveAt).toISOString(),
      };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    if (req.method === "DELETE") {
      if (!conn) return sendError(res, 410, "GoneException", `Connection ${id} is gone`);
      conn.delete();
      res.writeHead(204).end();
      return;
    }
    res.setHeader("allow", "GET, POST, DELETE");
    sendError(res, 405, "MethodNotAllowedException", `${req.method} is not a @connections operation`);
  };

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, "InternalServerErrorException", String(err));
      else res.destroy();
    });
  };
}
