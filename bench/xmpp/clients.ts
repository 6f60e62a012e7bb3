import { Worker } from "node:worker_threads";
import type { ChatArgs, ChatResult, LoginArgs, LoginResult, Reply, Request } from "./protocol";

type Req = Request extends infer R ? (R extends Request ? Omit<R, "id"> : never) : never;

/** XMPP clients driven from the bench, living in a worker thread (see client-worker.ts). */
export interface Clients {
  login(key: string, args: LoginArgs): Promise<LoginResult>;
  logout(key: string): Promise<void>;
  chat(args: ChatArgs): Promise<ChatResult>;
  close(): Promise<void>;
}

export function startClients(): Clients {
  // tsx's loader is registered inside the worker: Node 20 does not pass `--import tsx` on to workers.
  const entry = new URL("./client-worker.ts", import.meta.url).href;
  const worker = new Worker(
    `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(entry)}); })`,
    { eval: true },
  );
  let next = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  worker.on("message", (reply: Reply) => {
    const p = pending.get(reply.id);
    pending.delete(reply.id);
    if (!p) return;
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new Error(reply.error));
  });
  worker.on("error", (err) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  });
  const call = <T>(req: Req): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage({ ...req, id });
    });
  return {
    login: (key, args) => call<LoginResult>({ op: "login", key, args }),
    logout: (key) => call<void>({ op: "logout", key }),
    chat: (args) => call<ChatResult>({ op: "chat", args }),
    async close() {
      await worker.terminate();
    },
  };
}
