import { describe, expect, it } from "vitest";
import { lookupUnit, SENML_UNITS, toPrimary } from "../../shared/senml";

// RFC 8428 section 12.1, Table 6, in its order.
const RFC_8428 = [
  "m",
  "kg",
  "g",
  "s",
  "A",
  "K",
  "cd",
  "mol",
  "Hz",
  "rad",
  "sr",
  "N",
  "Pa",
  "J",
  "W",
  "C",
  "V",
  "F",
  "Ohm",
  "S",
  "Wb",
  "T",
  "H",
  "Cel",
  "lm",
  "lx",
  "Bq",
  "Gy",
  "Sv",
  "kat",
  "m2",
  "m3",
  "l",
  "m/s",
  "m/s2",
  "m3/s",
  "l/s",
  "W/m2",
  "cd/m2",
  "bit",
  "bit/s",
  "lat",
  "lon",
  "pH",
  "dB",
  "dBW",
  "Bspl",
  "count",
  "/",
  "%",
  "%RH",
  "%EL",
  "EL",
  "1/s",
  "1/min",
  "beat/min",
  "beats",
  "S/m",
];
// RFC 8798 section 2.
const RFC_8798_PRIMARY = ["B", "VA", "VAs", "var", "vars", "J/m", "kg/m3", "deg"];
// RFC 8798 section 3: symbol, primary unit, scale, offset.
const RFC_8798_SECONDARY: Array<[string, string, number, number]> = [
  ["ms", "s", 1 / 1000, 0],
  ["min", "s", 60, 0],
  ["h", "s", 3600, 0],
  ["MHz", "Hz", 1e6, 0],
  ["kW", "W", 1000, 0],
  ["kVA", "VA", 1000, 0],
  ["kvar", "var", 1000, 0],
  ["Ah", "C", 3600, 0],
  ["Wh", "J", 3600, 0],
  ["kWh", "J", 3_600_000, 0],
  ["varh", "vars", 3600, 0],
  ["kvarh", "vars", 3_600_000, 0],
  ["kVAh", "VAs", 3_600_000, 0],
  ["Wh/km", "J/m", 3.6, 0],
  ["KiB", "B", 1024, 0],
  ["GB", "B", 1e9, 0],
  ["Mbit/s", "bit/s", 1e6, 0],
  ["B/s", "bit/s", 8, 0],
  ["MB/s", "bit/s", 8e6, 0],
  ["mV", "V", 1 / 1000, 0],
  ["mA", "A", 1 / 1000, 0],
  ["dBm", "dBW", 1, -30],
  ["ug/m3", "kg/m3", 1e-9, 0],
  ["mm/h", "m/s", 1 / 3_600_000, 0],
  ["m/h", "m/s", 1 / 3600, 0],
  ["ppm", "/", 1e-6, 0],
  ["/100", "/", 1 / 100, 0],
  ["/1000", "/", 1 / 1000, 0],
  ["hPa", "Pa", 100, 0],
  ["mm", "m", 1 / 1000, 0],
  ["cm", "m", 1 / 100, 0],
  ["km", "m", 1000, 0],
  ["km/h", "m/s", 1 / 3.6, 0],
];

describe("the SenML units registry", () => {
  it("holds every primary unit of RFC 8428 and RFC 8798", () => {
    for (const symbol of [...RFC_8428, ...RFC_8798_PRIMARY]) {
      expect(lookupUnit(symbol), symbol).toBeDefined();
      expect(lookupUnit(symbol)?.primary, symbol).toBeUndefined();
    }
  });

  it("holds every secondary unit of RFC 8798 with its conversion", () => {
    for (const [symbol, unit, scale, offset] of RFC_8798_SECONDARY) {
      expect(lookupUnit(symbol)?.primary, symbol).toEqual({ unit, scale, offset });
    }
  });

  it("converts each secondary unit to a primary unit of the table", () => {
    for (const [symbol, entry] of Object.entries(SENML_UNITS)) {
      if (entry.primary === undefined) continue;
      const primary = lookupUnit(entry.primary.unit);
      expect(primary, `${symbol} -> ${entry.primary.unit}`).toBeDefined();
      expect(primary?.primary, `${symbol} -> ${entry.primary.unit}`).toBeUndefined();
    }
  });

  it("marks the NOT RECOMMENDED units of RFC 8428", () => {
    const discouraged = Object.entries(SENML_UNITS)
      .filter(([, entry]) => entry.discouraged === true)
      .map(([symbol]) => symbol);
    expect(discouraged).toEqual(["g", "l", "l/s", "Bspl", "%", "1/min", "beat/min", "beats", "deg"]);
  });

  it("is case-sensitive, and frozen", () => {
    expect(lookupUnit("kwh")).toBeUndefined();
    expect(lookupUnit("toString")).toBeUndefined();
    expect(Object.isFrozen(SENML_UNITS)).toBe(true);
    expect(Object.isFrozen(SENML_UNITS.kWh)).toBe(true);
    expect(Object.isFrozen(SENML_UNITS.kWh?.primary)).toBe(true);
  });

  it("toPrimary: multiply by the scale, then add the offset (RFC 8798 section 3's examples)", () => {
    expect(toPrimary(100, "ms")).toEqual({ value: 0.1, unit: "s" });
    expect(toPrimary(10, "dBm")).toEqual({ value: -20, unit: "dBW" });
    expect(toPrimary(2, "kWh")).toEqual({ value: 7_200_000, unit: "J" });
    expect(toPrimary(5, "W")).toEqual({ value: 5, unit: "W" });
    expect(toPrimary(5, "kwh")).toBeUndefined();
  });
});
