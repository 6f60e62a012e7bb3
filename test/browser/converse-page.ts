import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { dirname, extname, join, sep } from "node:path";

// The package's exports map has "./dist/*" (and no "./package.json"), so resolve a dist file itself.
const distDir = dirname(createRequire(import.meta.url).resolve("converse.js/dist/converse.min.js"));

const contentTypes: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
  ".ttf": "font/ttf",
  ".eot": "application/vnd.ms-fontobject",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
};

export interface ConversePage {
  /** http://127.0.0.1:<port>/, the page that starts Converse with the given settings. */
  readonly url: string;
  close(): Promise<void>;
}

/** JSON that is safe inside a <script> element: no "</script>" or "<!--" can be formed. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

function pageHtml(settings: Record<string, unknown>): string {
  // The dist bundle is an ES module (it ends in `export { ... as default }` and finds its lazily
  // loaded chunks through import.meta.url), so it must be imported from a module script.
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Relais - Converse.js</title>
<link rel="stylesheet" href="/converse.min.css">
</head>
<body class="converse-fullscreen">
<script type="module">
import converse from "/converse.min.js";
converse.initialize(${scriptJson(settings)});
</script>
</body>
</html>`;
}

/**
 * A minimal page hosting Converse.js, served from node_modules on 127.0.0.1, so a browser test needs no
 * network: `settings` go to `converse.initialize` as they are.
 */
export async function startConversePage(settings: Record<string, unknown>): Promise<ConversePage> {
  const html = pageHtml(settings);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://127.0.0.1").pathname);
    if (path === "/" || path === "/index.html") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
      res.end(html);
      return;
    }
    // dist/ is served both at the root and under /dist/: OMEMO's libsignal fetches its .wasm relative to
    // the page, while Converse's `assets_path` (emoji.json) defaults to "/dist/".
    const file = join(distDir, path.startsWith("/dist/") ? path.slice("/dist".length) : path);
    if (!file.startsWith(distDir + sep)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, { "content-type": contentTypes[extname(file)] ?? "application/octet-stream" });
        res.end(body);
      },
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === "string") throw new Error("converse page: no port");
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
