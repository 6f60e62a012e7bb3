import { request } from "node:http";
import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GetConnectionCommand,
  GoneException,
  PayloadTooLargeException,
  PostToConnectionCommand,
} from "@aws-sdk/client-apigatewaymanagementapi";
import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import {
  startWebSocketEmulator,
  type WebSocketEmulator,
  type WebSocketEmulatorOptions,
  type WebSocketEvent,
  type WsRouteHandler,
} from "../../local/apigw-websocket";
import { PortInUseError } from "../../local/ports";
import { freePort } from "../support/ports";

type Routes = WebSocketEmulatorOptions["routes"];

const running: WebSocketEmulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

/** Starts an emulator whose routes record every event, then call the given handlers. */
async function start(routes: Routes = {}, options: Partial<WebSocketEmulatorOptions> = {}) {
  const events: Record<"$connect" | "$default" | "$disconnect", WebSocketEvent[]> = {
    $connect: [],
    $default: [],
    $disconnect: [],
  };
  const errors: unknown[] = [];
  const recording = (route: keyof typeof events): WsRouteHandler => {
    return async (event, context) => {
      events[route].push(event);
      return routes[route]?.(event, context);
    };
  };
  const emu = await startWebSocketEmulator({
    port: await freePort(),
    routes: {
      $connect: recording("$connect"),
      $default: recording("$default"),
      $disconnect: recording("$disconnect"),
    },
    onError: (err) => errors.push(err),
    ...options,
  });
  running.push(emu);
  const management = new ApiGatewayManagementApiClient({
    endpoint: emu.managementEndpoint,
    region: "eu-west-3",
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  return { emu, events, errors, management };
}

function open(url: string, protocols?: string[], headers?: Record<string, string>): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { headers });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })),
  );
}

function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  return new Promise((resolve) =>
    ws.once("message", (data, isBinary) => resolve({ data: data as Buffer, isBinary })),
  );
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const idOf = (events: WebSocketEvent[]) => events[0]?.requestContext.connectionId as string;

describe("API Gateway WebSocket emulator", () => {
  it("gives $connect API Gateway's event shape, with headers, query and an opaque connection id", async () => {
    const { emu, events } = await start();
    const ws = await open(`${emu.url}/local?token=a&token=b&lang=fr`, undefined, {
      "User-Agent": "relais-test",
    });
    const event = events.$connect[0] as WebSocketEvent;
    const ctx = event.requestContext;
    expect(ctx).toMatchObject({
      routeKey: "$connect",
      eventType: "CONNECT",
      messageDirection: "IN",
      stage: "local",
      identity: { sourceIp: "127.0.0.1", userAgent: "relais-test" },
      domainName: `127.0.0.1:${emu.port}`,
    });
    expect(ctx.connectionId).toMatch(/^[A-Za-z0-9]{15}=$/);
    expect(ctx.requestId).toMatch(/^[A-Za-z0-9]{15}=$/);
    expect(ctx.messageId).toBeUndefined();
    expect(ctx.requestTime).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    expect(event.headers).toMatchObject({ "User-Agent": "relais-test", "X-Forwarded-Proto": "http" });
    expect(event.headers).not.toHaveProperty("Upgrade");
    expect(event.queryStringParameters).toEqual({ token: "b", lang: "fr" });
    expect(event.multiValueQueryStringParameters).toEqual({ token: ["a", "b"], lang: ["fr"] });
    expect(emu.connectionCount()).toBe(1);

    const other = await open(emu.url);
    expect(events.$connect[1]?.requestContext.connectionId).not.toBe(ctx.connectionId);
    expect(events.$connect[1]?.queryStringParameters).toBeUndefined();
    ws.close();
    other.close();
  });

  it("selects the subprotocol $connect returns in Sec-WebSocket-Protocol", async () => {
    const { emu, events } = await start({
      $connect: async (event) => {
        const offered = event.headers?.["Sec-WebSocket-Protocol"] ?? "";
        return offered
          .split(",")
          .map((p) => p.trim())
          .includes("xmpp")
          ? { statusCode: 200, headers: { "Sec-WebSocket-Protocol": "xmpp" } }
          : { statusCode: 200 };
      },
    });
    const ws = await open(emu.url, ["xmpp"]);
    expect(ws.protocol).toBe("xmpp");
    expect(events.$connect[0]?.headers?.["Sec-WebSocket-Protocol"]).toBe("xmpp");
    ws.close();
  });

  it("selects no subprotocol when $connect does not return one, even if the client offers it", async () => {
    const { emu } = await start({ $connect: async () => ({ statusCode: 200 }) });
    // ws (unlike browsers) refuses a handshake that ignores the subprotocol it offered.
    await expect(open(emu.url, ["xmpp"])).rejects.toThrow("Server sent no subprotocol");

    const response = await new Promise<{ status: number; protocol: string | undefined }>(
      (resolve, reject) => {
        const req = request(`http://127.0.0.1:${emu.port}/`, {
          headers: {
            Connection: "Upgrade",
            Upgrade: "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
            "Sec-WebSocket-Protocol": "xmpp",
          },
        });
        req.on("upgrade", (res, socket) => {
          socket.destroy();
          resolve({ status: res.statusCode ?? 0, protocol: res.headers["sec-websocket-protocol"] });
        });
        req.on("error", reject);
        req.end();
      },
    );
    expect(response).toEqual({ status: 101, protocol: undefined });
  });

  it("fails the handshake when $connect returns a non-2xx status or throws", async () => {
    let mode: "refuse" | "throw" = "refuse";
    const { emu, events, errors } = await start({
      $connect: async () => {
        if (mode === "throw") throw new Error("connect exploded");
        return { statusCode: 401, body: "no token" };
      },
    });
    await expect(open(emu.url)).rejects.toThrow("Unexpected server response: 401");
    mode = "throw";
    await expect(open(emu.url)).rejects.toThrow("Unexpected server response: 502");
    expect(errors).toHaveLength(1);
    expect(emu.connectionCount()).toBe(0);
    await emu.stop();
    expect(events.$connect).toHaveLength(2);
    expect(events.$disconnect).toHaveLength(0);
  });

  it("hands each text or binary message to $default, and never sends its return value back", async () => {
    const { emu, events, management } = await start({
      $default: async () => ({ statusCode: 200, body: "a route response" }),
    });
    const ws = await open(emu.url);
    const received: string[] = [];
    ws.on("message", (data) => received.push(String(data)));
    ws.send("<presence/>");
    ws.send(Buffer.from([0xff, 0x00, 0x01]));
    await vi.waitFor(() => expect(events.$default).toHaveLength(2));

    const [text, binary] = events.$default as [WebSocketEvent, WebSocketEvent];
    expect(text.body).toBe("<presence/>");
    expect(text.isBase64Encoded).toBe(false);
    expect(binary.body).toBe(Buffer.from([0xff, 0x00, 0x01]).toString("base64"));
    expect(binary.isBase64Encoded).toBe(true);
    expect(text.requestContext).toMatchObject({ routeKey: "$default", eventType: "MESSAGE" });
    expect(text.requestContext.messageId).toMatch(/^[A-Za-z0-9]{15}=$/);
    expect(text.requestContext.connectionId).toBe(idOf(events.$connect));
    expect(text).not.toHaveProperty("headers");

    // Anything the emulator sent on its own would arrive before this marker.
    await management.send(
      new PostToConnectionCommand({ ConnectionId: idOf(events.$connect), Data: "marker" }),
    );
    await vi.waitFor(() => expect(received).toEqual(["marker"]));
    ws.close();
  });

  it("tells the client about a failed $default invocation, as API Gateway does", async () => {
    const { emu, events, errors } = await start({
      $default: async () => {
        throw new Error("frame handler exploded");
      },
    });
    const ws = await open(emu.url);
    const reply = nextMessage(ws);
    ws.send("<iq/>");
    const { data, isBinary } = await reply;
    expect(isBinary).toBe(false);
    expect(JSON.parse(String(data))).toEqual({
      message: "Internal server error",
      connectionId: idOf(events.$connect),
      requestId: events.$default[0]?.requestContext.requestId,
    });
    expect(errors).toHaveLength(1);
    ws.close();
  });

  it("delivers PostToConnection from a handler: text as text, other bytes as binary", async () => {
    let management!: ApiGatewayManagementApiClient;
    const started = await start({
      $default: async (event) => {
        await management.send(
          new PostToConnectionCommand({
            ConnectionId: event.requestContext.connectionId,
            Data: `echo:${event.body}`,
          }),
        );
        await management.send(
          new PostToConnectionCommand({
            ConnectionId: event.requestContext.connectionId,
            Data: Buffer.from([0xc3, 0x28]),
          }),
        );
      },
    });
    management = started.management;
    const ws = await open(started.emu.url);
    const received: { data: Buffer; isBinary: boolean }[] = [];
    ws.on("message", (data, isBinary) => received.push({ data: data as Buffer, isBinary }));
    ws.send("<message>é</message>");
    await vi.waitFor(() => expect(received).toHaveLength(2));
    expect(received[0]).toEqual({ data: Buffer.from("echo:<message>é</message>"), isBinary: false });
    expect(received[1]).toEqual({ data: Buffer.from([0xc3, 0x28]), isBinary: true });
    ws.close();
  });

  it("answers GetConnection with connection time, identity and last activity", async () => {
    const { emu, events, management } = await start();
    const before = Date.now();
    const ws = await open(emu.url, undefined, { "User-Agent": "relais-test/1" });
    ws.send("ping");
    await vi.waitFor(() => expect(events.$default).toHaveLength(1));
    const info = await management.send(new GetConnectionCommand({ ConnectionId: idOf(events.$connect) }));
    expect(info.Identity).toEqual({ SourceIp: "127.0.0.1", UserAgent: "relais-test/1" });
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.ConnectedAt?.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(info.LastActiveAt?.getTime()).toBeGreaterThanOrEqual(info.ConnectedAt?.getTime() ?? Number.NaN);
    ws.close();
  });

  it("closes on DeleteConnection, fires $disconnect once, then answers GoneException", async () => {
    const { emu, events, management } = await start();
    const ws = await open(emu.url);
    const id = idOf(events.$connect);
    const wasClosed = closed(ws);
    await management.send(new DeleteConnectionCommand({ ConnectionId: id }));
    expect((await wasClosed).code).toBe(1000);
    await vi.waitFor(() => expect(events.$disconnect).toHaveLength(1));
    expect(events.$disconnect[0]?.requestContext).toMatchObject({
      routeKey: "$disconnect",
      eventType: "DISCONNECT",
      connectionId: id,
      disconnectStatusCode: 1000,
    });
    expect(emu.connectionCount()).toBe(0);

    const post = management.send(new PostToConnectionCommand({ ConnectionId: id, Data: "late" }));
    await expect(post).rejects.toBeInstanceOf(GoneException);
    await expect(management.send(new GetConnectionCommand({ ConnectionId: id }))).rejects.toBeInstanceOf(
      GoneException,
    );
    await expect(
      management.send(new DeleteConnectionCommand({ ConnectionId: "bm9uZXhpc3Q=" })),
    ).rejects.toBeInstanceOf(GoneException);
    await emu.stop();
    expect(events.$disconnect).toHaveLength(1);
  });

  it("serves the management API under the stage prefix too, and refuses payloads over 128 KiB", async () => {
    const { emu, events } = await start();
    const staged = new ApiGatewayManagementApiClient({
      endpoint: `${emu.managementEndpoint}/local`,
      region: "eu-west-3",
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    const ws = await open(emu.url);
    const id = idOf(events.$connect);
    const got = nextMessage(ws);
    await staged.send(new PostToConnectionCommand({ ConnectionId: id, Data: "via stage" }));
    expect(String((await got).data)).toBe("via stage");

    const tooBig = staged.send(
      new PostToConnectionCommand({ ConnectionId: id, Data: "x".repeat(128 * 1024 + 1) }),
    );
    await expect(tooBig).rejects.toBeInstanceOf(PayloadTooLargeException);
    const maxSize = nextMessage(ws);
    await staged.send(new PostToConnectionCommand({ ConnectionId: id, Data: "y".repeat(128 * 1024) }));
    expect((await maxSize).data.length).toBe(128 * 1024);
    ws.close();
  });

  it("closes with 1009 on a frame over 32 KiB, without invoking $default", async () => {
    const { emu, events } = await start();
    const ws = await open(emu.url);
    const wasClosed = closed(ws);
    ws.send("x".repeat(32 * 1024 + 1));
    expect((await wasClosed).code).toBe(1009);
    await vi.waitFor(() => expect(events.$disconnect).toHaveLength(1));
    expect(events.$disconnect[0]?.requestContext).toMatchObject({
      disconnectStatusCode: 1009,
      disconnectReason: "Message too big",
    });
    expect(events.$default).toHaveLength(0);
  });

  it("accepts a message fragmented into 32 KiB frames up to 128 KiB and closes with 1009 past it", async () => {
    const { emu, events } = await start();
    const frame = "f".repeat(32 * 1024);
    const ws = await open(emu.url);
    for (let i = 0; i < 4; i++) ws.send(frame, { fin: i === 3 });
    await vi.waitFor(() => expect(events.$default).toHaveLength(1));
    expect(events.$default[0]?.body).toBe(frame.repeat(4));

    const wasClosed = closed(ws);
    for (let i = 0; i < 5; i++) ws.send(frame, { fin: i === 4 });
    expect((await wasClosed).code).toBe(1009);
    await vi.waitFor(() => expect(events.$disconnect).toHaveLength(1));
    expect(events.$disconnect[0]?.requestContext.disconnectStatusCode).toBe(1009);
    expect(events.$default).toHaveLength(1);
  });

  it("closes an idle connection with 1001 Going away", async () => {
    const { emu, events } = await start({}, { limits: { idleTimeoutMs: 300 } });
    const ws = await open(emu.url);
    expect(await closed(ws)).toEqual({ code: 1001, reason: "Going away" });
    await vi.waitFor(() => expect(events.$disconnect).toHaveLength(1));
    expect(events.$disconnect[0]?.requestContext).toMatchObject({
      disconnectStatusCode: 1001,
      disconnectReason: "Going away",
    });
  });

  it("closes a busy connection at its maximum age with 1001 Going away", async () => {
    const { emu, events } = await start({}, { limits: { idleTimeoutMs: 300, maxConnectionMs: 800 } });
    const ws = await open(emu.url);
    const openedAt = Date.now();
    const traffic = setInterval(() => ws.readyState === ws.OPEN && ws.send("tick"), 100);
    const result = await closed(ws);
    clearInterval(traffic);
    expect(result).toEqual({ code: 1001, reason: "Going away" });
    // Traffic kept the idle timer from firing: the connection outlived the idle timeout.
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(700);
    expect(events.$default.length).toBeGreaterThanOrEqual(4);
    await vi.waitFor(() => expect(events.$disconnect).toHaveLength(1));
    expect(events.$disconnect[0]?.requestContext.disconnectStatusCode).toBe(1001);
  });

  it("handles frames of one connection concurrently by default", async () => {
    const gate = deferred();
    const started: string[] = [];
    const { emu } = await start({
      $default: async (event) => {
        started.push(event.body as string);
        if (event.body === "first") await gate.promise;
      },
    });
    const ws = await open(emu.url);
    ws.send("first");
    ws.send("second");
    try {
      // "second" starts while "first" is still waiting for the gate.
      await vi.waitFor(() => expect(started).toEqual(["first", "second"]));
    } finally {
      gate.resolve(); // before afterEach's stop(), which waits for handlers in flight
    }
    ws.close();
  });

  it("handles frames one at a time when concurrentFrames is false", async () => {
    const log: string[] = [];
    const { emu } = await start(
      {
        $default: async (event) => {
          log.push(`start ${event.body}`);
          if (event.body === "first") await new Promise((r) => setTimeout(r, 100));
          log.push(`end ${event.body}`);
        },
      },
      { concurrentFrames: false },
    );
    const ws = await open(emu.url);
    ws.send("first");
    ws.send("second");
    await vi.waitFor(() => expect(log).toHaveLength(4));
    expect(log).toEqual(["start first", "end first", "start second", "end second"]);
    ws.close();
  });

  it("fires $disconnect exactly once when the client closes", async () => {
    const { emu, events } = await start();
    const ws = await open(emu.url);
    ws.close(4000, "bye");
    await vi.waitFor(() => expect(events.$disconnect).toHaveLength(1));
    expect(events.$disconnect[0]?.requestContext).toMatchObject({
      connectionId: idOf(events.$connect),
      disconnectStatusCode: 4000,
      disconnectReason: "bye",
    });
    expect(events.$disconnect[0]?.headers).toHaveProperty("Host");
    expect(emu.connectionCount()).toBe(0);
    await emu.stop();
    expect(events.$disconnect).toHaveLength(1);
  });

  it("fires $disconnect exactly once when the client's socket is dropped", async () => {
    const { emu, events } = await start();
    const ws = await open(emu.url);
    ws.terminate();
    await vi.waitFor(() => expect(events.$disconnect).toHaveLength(1));
    expect(events.$disconnect[0]?.requestContext.disconnectStatusCode).toBe(1006);
    await emu.stop();
    expect(events.$disconnect).toHaveLength(1);
  });

  it("stop() closes every connection with 1001 and awaits their $disconnect", async () => {
    const { emu, events } = await start({
      $disconnect: async () => {
        await new Promise((r) => setTimeout(r, 50));
      },
    });
    const clients = await Promise.all([open(emu.url), open(emu.url)]);
    const closes = clients.map(closed);
    await emu.stop();
    expect(events.$disconnect.map((e) => e.requestContext.disconnectStatusCode)).toEqual([1001, 1001]);
    expect((await Promise.all(closes)).map((c) => c.code)).toEqual([1001, 1001]);
    expect(emu.connectionCount()).toBe(0);
    await expect(open(emu.url)).rejects.toThrow(/ECONNREFUSED/);
  });

  it("refuses to start on a port already in use, naming RELAIS_WS_PORT", async () => {
    const { emu } = await start();
    await expect(startWebSocketEmulator({ port: emu.port, routes: {} })).rejects.toBeInstanceOf(
      PortInUseError,
    );
  });
});
