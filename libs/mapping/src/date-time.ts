import { DateTime, IANAZone, type DurationLikeObject } from 'luxon';
import { EntryFailure } from './mapping-types';

/** Field Nation's date-time format: `YYYY-MM-DD HH:MM:SS`, 24 h, in UTC (reference §2, §5.4). */
export const FN_FORMAT = 'yyyy-MM-dd HH:mm:ss';

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const FN_TEXT = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const FN_PARTS = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * DateTime.fromFormat(value, FN_FORMAT) without rebuilding luxon's token parser per call (about 250 µs):
 * for text its regex matches, fromFormat ends in DateTime.fromObject with exactly these units
 * (date-time.spec.ts compares the two, invalid dates included).
 */
export function fromFnText(value: string, zone: string): DateTime {
  const m = FN_PARTS.exec(value);
  if (!m) return DateTime.fromFormat(value, FN_FORMAT, { zone });
  return DateTime.fromObject({ year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: +m[6]! }, { zone });
}

export function isValidZone(zone: string): boolean {
  return zone === 'UTC' || IANAZone.isValidZone(zone);
}

export interface DateConversion {
  /** Zone of inputs that carry no offset (date-only values, custom formats). Default UTC. */
  zone: string;
  /** Input format in luxon tokens; undefined = ISO 8601 (what Salesforce returns). */
  format?: string;
  /** Time of day for date-only inputs, `HH:mm` in `zone`. Default 00:00. */
  time?: string;
  add?: DurationLikeObject;
  /** `fn`, `iso`, `date`, `epoch` or a luxon format. */
  to: string;
  toZone: string;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/** "00".."59": formatting goes without number-to-text conversions. */
const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => pad2(i));

/**
 * `YYYY-MM-DD HH:MM:SS` (or `YYYY-MM-DD`) of an epoch ms in UTC, by H. Hinnant's days-to-civil
 * algorithm: a quarter of the cost of `new Date(ms).toISOString()`, which was the largest single cost
 * of a mapping with two date entries. Undefined outside years 0–9999 (toISOString's own format changes).
 */
export function utcText(ms: number, withTime: boolean): string | undefined {
  const days = Math.floor(ms / 86_400_000);
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return undefined;
  const date = `${year < 1000 ? String(year).padStart(4, '0') : year}-${TWO_DIGITS[month]!}-${TWO_DIGITS[day]!}`;
  if (!withTime) return date;
  const sod = Math.floor((ms - days * 86_400_000) / 1000);
  return `${date} ${TWO_DIGITS[Math.floor(sod / 3600)]!}:${TWO_DIGITS[Math.floor(sod / 60) % 60]!}:${TWO_DIGITS[sod % 60]!}`;
}

/** utcText split into date and time. */
export function utcParts(ms: number): { date: string; time: string } | undefined {
  const text = utcText(ms, true);
  return text === undefined ? undefined : { date: text.slice(0, 10), time: text.slice(11) };
}

/** The common case without luxon, much cheaper than a luxon DateTime; it runs once per record per date entry. */
function formatUtcFast(ms: number, to: string): string | number {
  if (to === 'epoch') return ms;
  if (to === 'iso') return new Date(ms).toISOString();
  const text = utcText(ms, to !== 'date');
  if (text !== undefined) return text;
  const iso = new Date(ms).toISOString();
  return to === 'date' ? iso.slice(0, 10) : `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

const FAST_TARGETS = new Set(['fn', 'iso', 'date', 'epoch']);

const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const daysInMonth = (y: number, m: number) => (m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : DAYS[m - 1]!);

/** The two digits at `i` as a number; negative when either is not a digit (so range checks refuse it). */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Epoch ms of `YYYY-MM-DDTHH:MM[:SS[.fff…]](Z|±HH[:]MM)`, or NaN. Hand-written because it runs for
 * every date entry of every record and Date.parse of Salesforce's `+0000` is several times slower.
 */
export function parseIsoWithOffset(s: string): number {
  const n = s.length;
  if (n < 17 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58) return Number.NaN;
  const century = twoDigits(s, 0);
  const yy = twoDigits(s, 2);
  const month = twoDigits(s, 5);
  const day = twoDigits(s, 8);
  const hour = twoDigits(s, 11);
  const minute = twoDigits(s, 14);
  if (century < 0 || yy < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59)
    return Number.NaN;
  const year = century * 100 + yy;
  let i = 16;
  let second = 0;
  let millis = 0;
  if (s.charCodeAt(i) === 58) {
    second = twoDigits(s, i + 1);
    if (second < 0 || second > 59) return Number.NaN;
    i += 3;
    if (s.charCodeAt(i) === 46) {
      i++;
      let scale = 100;
      for (; i < n; i++) {
        const c = s.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        millis += c * scale;
        scale /= 10;
      }
      millis = Math.floor(millis);
    }
  }
  let offset = 0;
  const sign = s.charCodeAt(i);
  if (sign === 90 /* Z */ && i === n - 1) offset = 0;
  else if ((sign === 43 || sign === 45) && (n - i === 5 || (n - i === 6 && s.charCodeAt(i + 3) === 58))) {
    const oh = twoDigits(s, i + 1);
    const om = twoDigits(s, n - 2);
    if (oh < 0 || om < 0) return Number.NaN;
    offset = sign === 45 ? -(oh * 60 + om) : oh * 60 + om;
  } else return Number.NaN;
  // Refused rather than rolled over to March like Date.UTC would.
  if (day > 28 && day > daysInMonth(year, month)) return Number.NaN;
  return daysFromCivil(year, month, day) * 86_400_000 + ((hour * 60 + minute - offset) * 60 + second) * 1000 + millis;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil, the inverse of
 * utcText's algorithm): several times cheaper than Date.UTC, and years 0–99 stay years 0–99.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}

// Mappings often derive several targets from one date field (a window's start and end): the text of
// the last parse is kept, so the second entry of a record costs a string comparison.
let lastIsoText = '';
let lastIsoMs = Number.NaN;
function parseIsoCached(s: string): number {
  if (s !== lastIsoText) {
    lastIsoMs = parseIsoWithOffset(s);
    lastIsoText = s;
  }
  return lastIsoMs;
}

/**
 * The conversion's result when it can skip luxon: ISO text with an offset (or Z), UTC in and out,
 * a target of fn, iso, date or epoch, a fixed-length shift. Undefined otherwise. Compiled date steps
 * whose options allow it call this first, sparing convertDate's checks on every record.
 */
export function fastUtcConversion(
  c: DateConversion,
  addMs: number | undefined,
): ((value: unknown) => string | number | undefined) | undefined {
  if (c.format || c.toZone !== 'UTC' || !FAST_TARGETS.has(c.to) || addMs === undefined || c.zone !== 'UTC') return undefined;
  const to = c.to;
  return (value) => {
    if (typeof value !== 'string') return undefined;
    const ms = parseIsoCached(value);
    return Number.isNaN(ms) ? undefined : formatUtcFast(ms + addMs, to);
  };
}

function parse(value: unknown, c: DateConversion, zone: string): DateTime {
  // Field Nation date objects ({utc: "YYYY-MM-DD HH:MM:SS", local: ...}) appear in webhook bodies.
  if (value !== null && typeof value === 'object' && typeof (value as { utc?: unknown }).utc === 'string') {
    return fromFnText((value as { utc: string }).utc, 'UTC');
  }
  if (typeof value === 'number') return DateTime.fromMillis(value, { zone });
  if (value instanceof Date) return DateTime.fromJSDate(value, { zone });
  if (typeof value !== 'string') throw new EntryFailure(`expected a date/time, got ${typeof value}`, value);
  if (c.format) return c.format === FN_FORMAT ? fromFnText(value, zone) : DateTime.fromFormat(value, c.format, { zone });
  if (DATE_ONLY.test(value) && c.time) return DateTime.fromISO(`${value}T${c.time}`, { zone });
  if (FN_TEXT.test(value)) return fromFnText(value, zone);
  // Salesforce writes offsets as +0000, which luxon's ISO parser accepts.
  return DateTime.fromISO(value, { zone });
}

/**
 * Convert one value. `zoneOverride` is the zone read from the record (e.g. the site's time zone)
 * and wins over the configured one when present.
 */
const FIXED_MS: Record<string, number> = {
  weeks: 604_800_000,
  days: 86_400_000,
  hours: 3_600_000,
  minutes: 60_000,
  seconds: 1000,
  milliseconds: 1,
};

/** Milliseconds of a duration made only of fixed-length units, else undefined (months and years vary). */
export function fixedDurationMs(d: DurationLikeObject | undefined): number | undefined {
  if (!d) return 0;
  let ms = 0;
  for (const [unit, n] of Object.entries(d)) {
    const size = FIXED_MS[unit];
    if (size === undefined || typeof n !== 'number') return undefined;
    ms += n * size;
  }
  return ms;
}

export function convertDate(
  value: unknown,
  c: DateConversion,
  zoneOverride?: string | null,
  addMs = fixedDurationMs(c.add),
): string | number {
  const zone = zoneOverride || c.zone;
  if (zoneOverride && !isValidZone(zoneOverride)) throw new EntryFailure(`unknown time zone "${zoneOverride}"`, zoneOverride);
  // Fast path: the value carries its offset (or is UTC) and the result is UTC, so a day is always 24 h.
  if (typeof value === 'string' && !c.format && c.toZone === 'UTC' && FAST_TARGETS.has(c.to) && addMs !== undefined && zone === 'UTC') {
    const ms = parseIsoCached(value);
    if (!Number.isNaN(ms)) return formatUtcFast(ms + addMs, c.to);
    if ((DATE_ONLY.test(value) || FN_TEXT.test(value)) && !c.time) {
      const parsed = Date.parse(FN_TEXT.test(value) ? `${value.replace(' ', 'T')}Z` : `${value}T00:00:00Z`);
      if (!Number.isNaN(parsed)) return formatUtcFast(parsed + addMs, c.to);
    }
  }
  let dt = parse(value, c, zone);
  if (!dt.isValid)
    throw new EntryFailure(
      `not a valid date/time${c.format ? ` in format "${c.format}"` : ''} (${dt.invalidExplanation ?? dt.invalidReason})`,
      value,
    );
  if (c.add) dt = dt.plus(c.add);
  if (c.toZone === 'UTC' && FAST_TARGETS.has(c.to)) return formatUtcFast(dt.toMillis(), c.to);
  dt = dt.setZone(c.toZone);
  switch (c.to) {
    case 'fn':
      return dt.toFormat(FN_FORMAT);
    case 'iso':
      return dt.toISO() ?? '';
    case 'date':
      return dt.toFormat('yyyy-MM-dd');
    case 'epoch':
      return dt.toMillis();
    default:
      return dt.toFormat(c.to);
  }
}

const MOMENT_TOKENS: Record<string, string> = {
  YYYY: 'yyyy',
  YY: 'yy',
  DDDD: 'ooo',
  DD: 'dd',
  D: 'd',
  dddd: 'EEEE',
  ddd: 'EEE',
  A: 'a',
  ZZ: 'ZZZ',
  Z: 'ZZ',
};

/**
 * The Field Nation broker's Jsonnet `date_convert` takes moment-style formats (`YYYY-MM-DD HH:mm:ss`);
 * luxon spells year, day and offset differently. Only the tokens those scripts use are translated;
 * moment's `[literal]` becomes luxon's `'literal'`.
 */
export function momentToLuxon(format: string): string {
  if (/^iso$/i.test(format)) return 'iso';
  return format.replace(/\[([^\]]*)\]|YYYY|YY|DDDD|DD|D|dddd|ddd|A|ZZ|Z/g, (token, literal: string | undefined) =>
    literal !== undefined ? `'${literal}'` : (MOMENT_TOKENS[token] ?? token),
  );
}
