// DynamoDB TTL deletes expired items lazily: AWS may keep returning them for up to about 48 hours
// (and DynamoDB Local never deletes them), so every read that must not see them filters here.

// Items are typed `object` rather than Record<string, unknown> so that interface-typed items,
// which have no index signature, are accepted too.

/**
 * Whether `item[attribute]` (epoch seconds) is before `nowSeconds`, the rule DynamoDB TTL applies.
 * An item without the attribute, or with a non-number in it, never expires, as in DynamoDB.
 */
export function isExpired(item: object, attribute: string, nowSeconds: number): boolean {
  const value = (item as Record<string, unknown>)[attribute];
  return typeof value === "number" && Number.isFinite(value) && value < nowSeconds;
}

/** The items still alive at `nowSeconds`, in their original order. */
export function withoutExpired<T extends object>(
  items: readonly T[],
  attribute: string,
  nowSeconds: number,
): T[] {
  return items.filter((item) => !isExpired(item, attribute, nowSeconds));
}

/** Current time in epoch seconds, the unit of TTL attributes. */
export function epochSeconds(nowMs: number = Date.now()): number {
  return Math.floor(nowMs / 1000);
}
