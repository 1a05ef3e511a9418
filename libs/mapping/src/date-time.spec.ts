import { describe, expect, it } from 'vitest';
import { convertDate, utcParts } from './date-time';

// Date.UTC maps years 0-99 to 1900-1999: the first instant of year 1 comes from an ISO string.
const YEAR_1 = Date.parse('0001-01-01T00:00:00.000Z');

describe('utcParts (hand-written UTC formatting)', () => {
  it('agrees with toISOString across centuries, leap days, month ends and day boundaries', () => {
    const samples: number[] = [0, -1, 86_399_999, 86_400_000, Date.UTC(2000, 1, 29, 23, 59, 59), Date.UTC(1900, 1, 28), Date.UTC(2100, 2, 1), YEAR_1, Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
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
