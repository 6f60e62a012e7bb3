// DynamoDB's item size (what write units are billed by), from its documented rules: attribute names
// count as their UTF-8 bytes; a string as its UTF-8 bytes; a number about one byte per two significant
// digits plus one; a boolean or null one byte; a list or map three bytes plus one per element plus its
// elements; a set the sum of its members. For estimates where DynamoDB Local reports no capacity.

export function dynamoItemBytes(item: Record<string, unknown>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item))
    bytes += Buffer.byteLength(name, "utf8") + valueBytes(value);
  return bytes;
}

function valueBytes(value: unknown): number {
  if (typeof value === "string") return Buffer.byteLength(value, "utf8");
  if (typeof value === "number")
    return Math.ceil(String(Math.abs(value)).replace(/[.-]|^0+/g, "").length / 2) + 1;
  if (typeof value === "boolean" || value === null || value === undefined) return 1;
  if (value instanceof Set) return [...value].reduce((n: number, v) => n + valueBytes(v), 0);
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value)) return 3 + value.reduce((n: number, v) => n + 1 + valueBytes(v), 0);
  if (typeof value === "object")
    return (
      3 +
      Object.entries(value as Record<string, unknown>).reduce(
        (n, [k, v]) => n + 1 + Buffer.byteLength(k, "utf8") + valueBytes(v),
        0,
      )
    );
  return 0;
}

/** Write units of a write of an item of `bytes` (1 KB each, rounded up). */
export const writeUnits = (bytes: number): number => Math.max(1, Math.ceil(bytes / 1024));
