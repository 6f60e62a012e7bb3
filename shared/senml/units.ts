// The IANA "Sensor Measurement Lists (SenML)" registry's units, in one frozen table:
// - "SenML Units" (primary units): RFC 8428 section 12.1 Table 6, RFC 8798 section 2 (B, VA, VAs, var,
//   vars, J/m, kg/m3, deg), and NTU (ISO 7027-1:2016);
// - "Secondary Units" (RFC 8798 section 3): each a linear transformation of a primary unit, value in the
//   primary unit = value * scale + offset; plus the later registrations ppb, ppt, VAh, mg/l, ug/l, g/l.
// Sources: the RFC 8428 text, the RFC 8798 draft text (its secondary table), and RIOT OS's senml.h, which
// mirrors the IANA registry (MHz and B/s are in the published RFC 8798 but not in its last draft).
// Uncertain, left out until checked against https://www.iana.org/assignments/senml: "FNU" (a primary unit
// from ISO 7027-1, possibly registered next to NTU), and any registration made after 2024.
// The registry is updated by software updates, never fetched at run time (RFC 8798 section 4).

export interface PrimaryConversion {
  /** The primary SenML unit this secondary unit converts to. */
  readonly unit: string;
  readonly scale: number;
  readonly offset: number;
}

export interface SenmlUnit {
  readonly description: string;
  /** Marked with an asterisk in the registry: NOT RECOMMENDED for producers, still to be accepted. */
  readonly discouraged?: true;
  /** Present for secondary units only. */
  readonly primary?: PrimaryConversion;
}

const u = (description: string, discouraged?: "*"): SenmlUnit =>
  discouraged === undefined ? { description } : { description, discouraged: true };
const sec = (description: string, unit: string, scale: number, offset = 0): SenmlUnit => ({
  description,
  primary: { unit, scale, offset },
});

export const SENML_UNITS: Readonly<Record<string, SenmlUnit>> = deepFreeze({
  // RFC 8428 Table 6
  m: u("meter"),
  kg: u("kilogram"),
  g: u("gram", "*"),
  s: u("second"),
  A: u("ampere"),
  K: u("kelvin"),
  cd: u("candela"),
  mol: u("mole"),
  Hz: u("hertz"),
  rad: u("radian"),
  sr: u("steradian"),
  N: u("newton"),
  Pa: u("pascal"),
  J: u("joule"),
  W: u("watt"),
  C: u("coulomb"),
  V: u("volt"),
  F: u("farad"),
  Ohm: u("ohm"),
  S: u("siemens"),
  Wb: u("weber"),
  T: u("tesla"),
  H: u("henry"),
  Cel: u("degrees Celsius"),
  lm: u("lumen"),
  lx: u("lux"),
  Bq: u("becquerel"),
  Gy: u("gray"),
  Sv: u("sievert"),
  kat: u("katal"),
  m2: u("square meter (area)"),
  m3: u("cubic meter (volume)"),
  l: u("liter (volume)", "*"),
  "m/s": u("meter per second (velocity)"),
  "m/s2": u("meter per square second (acceleration)"),
  "m3/s": u("cubic meter per second (flow rate)"),
  "l/s": u("liter per second (flow rate)", "*"),
  "W/m2": u("watt per square meter (irradiance)"),
  "cd/m2": u("candela per square meter (luminance)"),
  bit: u("bit (information content)"),
  "bit/s": u("bit per second (data rate)"),
  lat: u("degrees latitude (WGS84 unless another frame is known)"),
  lon: u("degrees longitude (WGS84 unless another frame is known)"),
  pH: u("pH value (acidity; logarithmic quantity)"),
  dB: u("decibel (logarithmic quantity)"),
  dBW: u("decibel relative to 1 W (power level)"),
  Bspl: u("bel (sound pressure level; logarithmic quantity)", "*"),
  count: u("1 (counter value)"),
  "/": u("1 (ratio, e.g., value of a switch)"),
  "%": u("1 (ratio, e.g., value of a switch; NOT a percentage)", "*"),
  "%RH": u("percentage (relative humidity)"),
  "%EL": u("percentage (remaining battery energy level)"),
  EL: u("seconds (remaining battery energy level)"),
  "1/s": u("1 per second (event rate)"),
  "1/min": u('1 per minute (event rate, "rpm")', "*"),
  "beat/min": u("1 per minute (heart rate in beats per minute)", "*"),
  beats: u("1 (cumulative number of heart beats)", "*"),
  "S/m": u("siemens per meter (conductivity)"),
  // RFC 8798 section 2
  B: u("byte (information content)"),
  VA: u("volt-ampere (apparent power)"),
  VAs: u("volt-ampere second (apparent energy)"),
  var: u("volt-ampere reactive (reactive power)"),
  vars: u("volt-ampere reactive second (reactive energy)"),
  "J/m": u("joule per meter (energy per distance)"),
  "kg/m3": u("kilogram per cubic meter (mass density, mass concentration)"),
  deg: u("degree (angle)", "*"),
  // ISO 7027-1:2016
  NTU: u("nephelometric turbidity unit"),

  // RFC 8798 section 3: secondary units
  ms: sec("millisecond", "s", 1 / 1000),
  min: sec("minute", "s", 60),
  h: sec("hour", "s", 3600),
  MHz: sec("megahertz", "Hz", 1_000_000),
  kW: sec("kilowatt", "W", 1000),
  kVA: sec("kilovolt-ampere", "VA", 1000),
  kvar: sec("kilovar", "var", 1000),
  Ah: sec("ampere-hour", "C", 3600),
  Wh: sec("watt-hour", "J", 3600),
  kWh: sec("kilowatt-hour", "J", 3_600_000),
  varh: sec("var-hour", "vars", 3600),
  kvarh: sec("kilovar-hour", "vars", 3_600_000),
  kVAh: sec("kilovolt-ampere-hour", "VAs", 3_600_000),
  "Wh/km": sec("watt-hour per kilometer", "J/m", 3.6),
  KiB: sec("kibibyte", "B", 1024),
  GB: sec("gigabyte", "B", 1e9),
  "Mbit/s": sec("megabit per second", "bit/s", 1_000_000),
  "B/s": sec("byte per second", "bit/s", 8),
  "MB/s": sec("megabyte per second", "bit/s", 8_000_000),
  mV: sec("millivolt", "V", 1 / 1000),
  mA: sec("milliampere", "A", 1 / 1000),
  dBm: sec("decibel (milliwatt)", "dBW", 1, -30),
  "ug/m3": sec("microgram per cubic meter", "kg/m3", 1e-9),
  "mm/h": sec("millimeter per hour", "m/s", 1 / 3_600_000),
  "m/h": sec("meter per hour", "m/s", 1 / 3600),
  ppm: sec("parts per million", "/", 1e-6),
  "/100": sec("percent", "/", 1 / 100),
  "/1000": sec("permille", "/", 1 / 1000),
  hPa: sec("hectopascal", "Pa", 100),
  mm: sec("millimeter", "m", 1 / 1000),
  cm: sec("centimeter", "m", 1 / 100),
  km: sec("kilometer", "m", 1000),
  "km/h": sec("kilometer per hour", "m/s", 1 / 3.6),
  // Later secondary registrations (IANA registry, after RFC 8798)
  ppb: sec("parts per billion", "/", 1e-9),
  ppt: sec("parts per trillion", "/", 1e-12),
  VAh: sec("volt-ampere-hour", "VAs", 3600),
  "mg/l": sec("milligram per liter", "kg/m3", 1 / 1000),
  "ug/l": sec("microgram per liter", "kg/m3", 1e-6),
  "g/l": sec("gram per liter", "kg/m3", 1),
});

function deepFreeze<T extends Record<string, SenmlUnit>>(table: T): Readonly<T> {
  for (const entry of Object.values(table)) {
    if (entry.primary !== undefined) Object.freeze(entry.primary);
    Object.freeze(entry);
  }
  return Object.freeze(table);
}

/** The registry entry for a unit symbol (case-sensitive, RFC 8428 section 12.1 rule 9), if registered. */
export function lookupUnit(symbol: string): SenmlUnit | undefined {
  // Own properties only: "constructor" or "__proto__" are not units.
  return Object.hasOwn(SENML_UNITS, symbol) ? SENML_UNITS[symbol] : undefined;
}

/**
 * A value in a registered unit, expressed in its primary unit (RFC 8798 section 3: multiply by the scale,
 * then add the offset). Primary units come back unchanged; an unregistered unit gives undefined.
 */
export function toPrimary(value: number, symbol: string): { value: number; unit: string } | undefined {
  const entry = lookupUnit(symbol);
  if (entry === undefined) return undefined;
  if (entry.primary === undefined) return { value, unit: symbol };
  return { value: value * entry.primary.scale + entry.primary.offset, unit: entry.primary.unit };
}
