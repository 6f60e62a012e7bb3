// `npm run bench [-- --quick] [--markdown] [--json FILE] [name ...]`: runs every bench/*.bench.ts module
// (or those whose name contains one of the given words) against one in-process local hub, and prints
// their tables. Timings come from local emulators; call counts are what carries over to AWS.
import { writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { startBenchContext } from "./support/context";
import { loadBenchModules } from "./support/modules";
import { renderMarkdown, renderText } from "./support/table";
import type { BenchTable } from "./support/types";

const { values, positionals } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    markdown: { type: "boolean", default: false },
    json: { type: "string" },
  },
  allowPositionals: true,
});

const modules = (await loadBenchModules()).filter(
  (m) => positionals.length === 0 || positionals.some((p) => m.name.includes(p)),
);
if (modules.length === 0) {
  console.error(`no bench module matches ${positionals.join(", ")}`);
  process.exit(2);
}

const machine = `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, Node ${process.version}, ${process.platform}`;
console.log(`Relais bench, ${new Date().toISOString()}\n${machine}\n`);
const started = performance.now();
const ctx = await startBenchContext({ quick: values.quick ?? false });
console.log(`local hub up in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

const results: Array<{ name: string; description?: string; seconds: number; tables: BenchTable[] }> = [];
let failed = false;
try {
  for (const m of modules) {
    const t0 = performance.now();
    console.log(`== ${m.name}${m.description ? `: ${m.description}` : ""}\n`);
    try {
      const tables = await m.run(ctx);
      const seconds = (performance.now() - t0) / 1000;
      results.push({ name: m.name, description: m.description, seconds, tables });
      for (const t of tables) console.log(`${values.markdown ? renderMarkdown(t) : renderText(t)}\n`);
      console.log(`(${m.name}: ${seconds.toFixed(1)} s)\n`);
    } catch (err) {
      failed = true;
      console.error(`${m.name} failed:`, err);
    }
  }
} finally {
  await ctx.close();
}
if (values.json) {
  await writeFile(
    values.json,
    JSON.stringify({ at: new Date().toISOString(), machine, quick: values.quick, results }, null, 2),
  );
}
console.log(`total ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
