import type { BenchTable } from "./types";

const cell = (v: string | number) => String(v);

/** A plain-text table for the terminal: columns padded, numbers right-aligned. */
export function renderText(t: BenchTable): string {
  const rows = [t.columns.map(cell), ...t.rows.map((r) => r.map(cell))];
  const widths = t.columns.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const numeric = t.columns.map((_, i) => t.rows.every((r) => /^[-\d.,/ %]*$/.test(cell(r[i] ?? ""))));
  const line = (r: string[]) =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join("  ");
  const out = [t.title, line(rows[0] ?? []), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const r of rows.slice(1)) out.push(line(r));
  for (const n of t.notes ?? []) out.push(`  * ${n}`);
  return out.join("\n");
}

/** The same table in Markdown, for BENCHMARKS.md. */
export function renderMarkdown(t: BenchTable): string {
  // "<open/>" would be read as an HTML tag and vanish from the rendered page.
  const esc = (v: string | number) => cell(v).replace(/\|/g, "\\|").replace(/</g, "&lt;");
  const out = [
    `#### ${esc(t.title)}`,
    "",
    `| ${t.columns.map(esc).join(" | ")} |`,
    `| ${t.columns.map(() => "---").join(" | ")} |`,
  ];
  for (const r of t.rows) out.push(`| ${r.map(esc).join(" | ")} |`);
  if (t.notes && t.notes.length > 0) out.push("", ...t.notes.map((n) => `- ${esc(n)}`));
  return out.join("\n");
}
