import { describe, expect, it } from "vitest";
import {
  DEFAULT_ITERATIONS,
  deriveCredentials,
  fakeCredential,
  passwordMatches,
  preparePassword,
} from "../../shared/sasl/credentials";

describe("deriveCredentials", () => {
  it("stores neither the password nor anything that decodes to it", async () => {
    const password = "correct horse battery staple";
    const stored = await deriveCredentials(password);
    const json = JSON.stringify(stored);
    expect(json).not.toContain(password);
    expect(json).not.toContain(Buffer.from(password).toString("base64"));
    for (const c of Object.values(stored)) {
      for (const field of [c.salt, c.storedKey, c.serverKey]) {
        expect(Buffer.from(field, "base64").toString("utf8")).not.toContain(password);
      }
    }
    expect(Object.keys(stored).sort()).toEqual(["SCRAM-SHA-1", "SCRAM-SHA-256"]);
    expect(Object.keys(stored["SCRAM-SHA-1"]).sort()).toEqual([
      "iterations",
      "salt",
      "serverKey",
      "storedKey",
    ]);
  });

  it("uses the default count, key lengths of each hash, and a fresh salt per mechanism and per call", async () => {
    const a = await deriveCredentials("pw");
    const b = await deriveCredentials("pw");
    expect(a["SCRAM-SHA-256"].iterations).toBe(DEFAULT_ITERATIONS);
    expect(DEFAULT_ITERATIONS).toBeGreaterThanOrEqual(4096);
    expect(Buffer.from(a["SCRAM-SHA-1"].storedKey, "base64")).toHaveLength(20);
    expect(Buffer.from(a["SCRAM-SHA-256"].storedKey, "base64")).toHaveLength(32);
    expect(a["SCRAM-SHA-1"].salt).not.toBe(a["SCRAM-SHA-256"].salt);
    expect(a["SCRAM-SHA-256"].salt).not.toBe(b["SCRAM-SHA-256"].salt);
    expect(a["SCRAM-SHA-256"].storedKey).not.toBe(b["SCRAM-SHA-256"].storedKey);
  });

  it("refuses counts below RFC 7677's 4096, empty passwords and characters SASLprep prohibits", async () => {
    await expect(deriveCredentials("pw", { iterations: 4095 })).rejects.toThrow(RangeError);
    await expect(deriveCredentials("")).rejects.toThrow(/empty/);
    await expect(deriveCredentials("\u00ad")).rejects.toThrow(/empty/);
    await expect(deriveCredentials("bell\u0007")).rejects.toThrow();
  });

  it("derives the same keys for SASLprep-equivalent passwords", async () => {
    const salt = Buffer.from("0123456789abcdef");
    const a = await deriveCredentials("I\u00adX\u00a0y", { salt, iterations: 4096 });
    const b = await deriveCredentials("IX y", { salt, iterations: 4096 });
    expect(a).toEqual(b);
  });

  it("checks a password against a credential", async () => {
    const stored = await deriveCredentials("pw", { iterations: 4096 });
    expect(await passwordMatches("SHA-256", stored["SCRAM-SHA-256"], preparePassword("pw", false))).toBe(
      true,
    );
    expect(await passwordMatches("SHA-256", stored["SCRAM-SHA-256"], "pW")).toBe(false);
    expect(await passwordMatches("SHA-1", stored["SCRAM-SHA-1"], "pw")).toBe(true);
  });
});

describe("fakeCredential", () => {
  it("is stable per name and secret, differs otherwise, and looks like a real one", async () => {
    const one = fakeCredential("s", "SCRAM-SHA-1", "nobody");
    expect(fakeCredential("s", "SCRAM-SHA-1", "nobody")).toEqual(one);
    expect(fakeCredential("s", "SCRAM-SHA-1", "nobody2").salt).not.toBe(one.salt);
    expect(fakeCredential("t", "SCRAM-SHA-1", "nobody").salt).not.toBe(one.salt);
    expect(fakeCredential("s", "SCRAM-SHA-256", "nobody").salt).not.toBe(one.salt);
    const real = (await deriveCredentials("pw"))["SCRAM-SHA-1"];
    expect(one.iterations).toBe(real.iterations);
    for (const k of ["salt", "storedKey", "serverKey"] as const) expect(one[k].length).toBe(real[k].length);
  });
});
