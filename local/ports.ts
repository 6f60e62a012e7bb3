import { createServer } from "node:net";

/** Raised when a port the hub was told to use is taken; names the variable that moves it. */
export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly host: string,
    readonly envVar: string,
    readonly component: string,
  ) {
    super(
      `${component}: port ${port} on ${host} is already in use. ` +
        `Stop whatever holds it, or choose another port with ${envVar}=<port>.`,
    );
    this.name = "PortInUseError";
  }
}

/** Checks that host:port can be bound now, so a child process does not fail later with a vaguer message. */
export function assertPortFree(port: number, host: string, envVar: string, component: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE" || err.code === "EACCES")
        reject(new PortInUseError(port, host, envVar, component));
      else reject(err);
    });
    srv.listen(port, host, () => srv.close(() => resolve()));
  });
}
