import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchModule } from "./types";

const benchDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Every bench/*.bench.ts module, in file-name order; each must export `name` and `run`. */
export async function loadBenchModules(dir = benchDir): Promise<BenchModule[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith(".bench.ts")).sort();
  const modules: BenchModule[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(join(dir, file)).href)) as Partial<BenchModule>;
    if (typeof mod.name !== "string" || typeof mod.run !== "function") {
      throw new Error(`bench/${file} must export a string "name" and a function "run(ctx)"`);
    }
    modules.push({ name: mod.name, description: mod.description, run: mod.run });
  }
  return modules;
}
