import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { convertDate, FN_FORMAT, fromFnText, parseIsoWithOffset, utcParts } from './date-time';

// Date.UTC maps years 0-99 to 1900-1999: the first instant of year 1 comes from an ISO string.
const YEAR_1 = Date.parse('0001-01-01T00:00:00.000Z');

describe('utcParts (hand-written UTC formatting)', () => {
  it('agrees with toISOString across centuries, leap days, month ends and day boundaries', () => {
    const samples: number[] = [
      0,
      -1,
      86_399_999,
      86_400_000,
      Date.UTC(2000, 1, 29, 23, 59, 59),
      Date.UTC(1900, 1, 28),
      Date.UTC(2100, 2, 1),
      YEAR_1,
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    // Pseudo-random instants over 0001..9999 (deterministic), plus every hour of a leap year.
    let seed = 42;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      samples.push(YEAR_1 + Math.floor((seed / 2 ** 31) * (Date.UTC(9999, 11, 31) - YEAR_1)));
    }
    for (let h = 0; h < 366 * 24; h++) samples.push(Date.UTC(2024, 0, 1) + h * 3_600_000 + 59_999);
    for (const ms of samples) {
      const iso = new Date(ms).toISOString();
      expect(utcParts(ms), iso).toEqual({ date: iso.slice(0, 10), time: iso.slice(11, 19) });
    }
  });
  it('declines years toISOString writes differently, and the conversion still answers', () => {
    const far = Date.UTC(10_000, 0, 1);
    expect(utcParts(far)).toBeUndefined();
    expect(utcParts(Date.parse('-000001-06-01T00:00:00.000Z'))).toBeUndefined();
    expect(utcParts(YEAR_1 - 1)).toEqual({ date: '0000-12-31', time: '23:59:59' });
    expect(convertDate('2026-07-01T08:00:00.000+0000', { zone: 'UTC', to: 'fn', toZone: 'UTC' })).toBe('2026-07-01 08:00:00');
  });
});

describe('parseIsoWithOffset (hand-written ISO 8601 parsing)', () => {
  const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');
  it('agrees with Date.parse over years 0–9999, offsets, seconds and fractions', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20_000; i++) {
      const ms = YEAR_1 + Math.floor(next() * (Date.UTC(9999, 11, 31) - YEAR_1));
      const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
      const offsetMin = Math.floor(next() * 28 * 60) - 14 * 60;
      const local = new Date(ms + offsetMin * 60_000).toISOString();
      if (local.startsWith('+') || local.startsWith('-')) continue;
      const sign = offsetMin < 0 ? '-' : '+';
      const hhmm = `${pad(Math.trunc(offsetMin / 60))}${pad(offsetMin % 60)}`;
      const form = Math.floor(next() * 4);
      const body = form === 0 ? local.slice(0, 16) : form === 1 ? local.slice(0, 19) : form === 2 ? local.slice(0, 21) : local.slice(0, 23);
      const withColon = `${body}${sign}${hhmm.slice(0, 2)}:${hhmm.slice(2)}`;
      const salesforce = `${body}${sign}${hhmm}`;
      const expected = Date.parse(withColon);
      expect([salesforce, parseIsoWithOffset(salesforce)]).toEqual([salesforce, expected]);
      expect([withColon, parseIsoWithOffset(withColon)]).toEqual([withColon, expected]);
      expect(parseIsoWithOffset(iso)).toBe(ms);
    }
  });
  it('keeps years below 100 (Date.UTC would move them to the 1900s) and long fractions', () => {
    expect(parseIsoWithOffset('0050-03-01T00:00:00Z')).toBe(Date.parse('0050-03-01T00:00:00Z'));
    expect(parseIsoWithOffset('0000-01-01T00:00:00Z')).toBe(Date.parse('0000-01-01T00:00:00Z'));
    expect(parseIsoWithOffset('2026-07-01T08:00:00.1239999+0000')).toBe(Date.UTC(2026, 6, 1, 8, 0, 0, 123));
  });
  it('refuses what is not a valid date-time with an offset', () => {
    for (const bad of [
      '2026-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-01T00:00:00Z',
      '2026-07-00T00:00:00Z',
      '2026-07-01T24:00:00Z',
      '2026-07-01T08:60:00Z',
      '2026-07-01T08:00:60Z',
      '2026-07-01T08:00:00',
      '2026-07-01T08:00:00+00',
      '2026-07-01T08:00:00+0x:00',
      '2026-07-01T08:00:00 Z',
      '20x6-07-01T08:00:00Z',
      '2026-07-01 08:00:00Z',
      '2026-07-01',
    ]) {
      expect([bad, parseIsoWithOffset(bad)]).toEqual([bad, Number.NaN]);
    }
    expect(parseIsoWithOffset('2024-02-29T23:59:59+0000')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59));
  });
  it('converting the same text twice, or texts in turn, gives each its own answer', () => {
    const fn = { zone: 'UTC', to: 'fn', toZone: 'UTC' };
    const a = '2026-07-01T08:00:00.000+0000';
    const b = '2026-07-01T08:00:00.000-0500';
    expect([a, a, b, a, b, b].map((v) => convertDate(v, fn))).toEqual([
      '2026-07-01 08:00:00',
      '2026-07-01 08:00:00',
      '2026-07-01 13:00:00',
      '2026-07-01 08:00:00',
      '2026-07-01 13:00:00',
      '2026-07-01 13:00:00',
    ]);
    expect(() => convertDate('2026-02-30T08:00:00Z', fn)).toThrow(/not a valid date/);
    expect(convertDate(a, fn)).toBe('2026-07-01 08:00:00');
  });
});

describe("fromFnText (Field Nation text without rebuilding luxon's parser)", () => {
  it('gives what DateTime.fromFormat gives, in zones with DST gaps and for invalid dates', () => {
    const texts = [
      '2026-07-01 08:00:00',
      '2024-02-29 23:59:59',
      '2026-02-29 08:00:00',
      '2026-02-30 08:00:00',
      '2026-13-01 08:00:00',
      '2026-00-10 08:00:00',
      '2026-07-01 24:00:00',
      '2026-07-01 23:60:00',
      '2026-07-01 23:59:60',
      '2026-03-08 02:30:00',
      '2026-11-01 01:30:00',
      '0001-01-01 00:00:00',
      '9999-12-31 23:59:59',
      '2026-7-01 08:00:00',
      '2026-07-01T08:00:00',
      ' 2026-07-01 08:00:00',
    ];
    for (const zone of ['UTC', 'America/New_York', 'Asia/Kolkata', 'Australia/Lord_Howe']) {
      for (const t of texts) {
        const a = fromFnText(t, zone);
        const b = DateTime.fromFormat(t, FN_FORMAT, { zone });
        expect([t, zone, a.isValid, a.toISO(), a.invalidReason]).toEqual([t, zone, b.isValid, b.toISO(), b.invalidReason]);
      }
    }
  });
});
