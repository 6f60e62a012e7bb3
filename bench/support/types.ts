import type { BenchContext } from "./context";

/** One table of results: a title, column headers, rows, and notes printed under it. */
export interface BenchTable {
  readonly title: string;
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>;
  readonly notes?: readonly string[];
}

/**
 * A benchmark module: bench/*.bench.ts files export `name`, an optional `description`, and `run`.
 * run.ts gives every module the same context (one hub for the whole run) and prints what it returns.
 */
export interface BenchModule {
  readonly name: string;
  readonly description?: string;
  run(ctx: BenchContext): Promise<BenchTable[]>;
}
