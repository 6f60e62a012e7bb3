import { randomBytes } from "node:crypto";

/**
 * An id shaped like API Gateway's connection and request ids ("L0SM9cOFvHcCIhw="): 11 random bytes in
 * base64. Ids holding "+" or "/" are drawn again: real ids have not been seen with them, and an emulator
 * that produced them only sometimes would make URL-building bugs show up as flaky tests.
 */
export function gatewayId(): string {
  for (;;) {
    const id = randomBytes(11).toString("base64");
    if (!id.includes("+") && !id.includes("/")) return id;
  }
}

/** A 10-character lowercase API id, like the "abcd1234ef" in execute-api host names. */
export function apiId(): string {
  const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  return Array.from(randomBytes(10), (b) => alphabet[b % alphabet.length]).join("");
}

/** An X-Amzn-Trace-Id value in X-Ray's format: Root=1-<epoch seconds hex>-<24 hex>. */
export function traceId(now: number): string {
  return `Root=1-${Math.floor(now / 1000).toString(16)}-${randomBytes(12).toString("hex")}`;
}
