const DAY = 86_400_000;

const FIXED = new Set([
  'TODAY',
  'YESTERDAY',
  'TOMORROW',
  'LAST_WEEK',
  'THIS_WEEK',
  'NEXT_WEEK',
  'LAST_MONTH',
  'THIS_MONTH',
  'NEXT_MONTH',
  'LAST_90_DAYS',
  'NEXT_90_DAYS',
  'THIS_YEAR',
  'LAST_YEAR',
  'NEXT_YEAR',
]);
const WITH_N = new Set(['LAST_N_DAYS', 'NEXT_N_DAYS', 'N_DAYS_AGO', 'LAST_N_WEEKS', 'NEXT_N_WEEKS', 'LAST_N_MONTHS', 'NEXT_N_MONTHS']);

export function isDateLiteralName(name: string): boolean {
  const upper = name.toUpperCase();
  return FIXED.has(upper) || WITH_N.has(upper);
}

export function dateLiteralTakesN(name: string): boolean {
  return WITH_N.has(name.toUpperCase());
}

function monthStart(year: number, month: number): number {
  return Date.UTC(year, month, 1);
}

/**
 * The [start, end) range in UTC ms that a date literal covers at `now`. The org's time zone is UTC,
 * so TODAY is the current UTC day; weeks start on Sunday as in the en_US locale.
 */
export function dateLiteralRange(name: string, n: number | undefined, now: number): [number, number] {
  const today = Math.floor(now / DAY) * DAY;
  const d = new Date(today);
  const weekStart = today - d.getUTCDay() * DAY;
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const k = n ?? 0;
  switch (name) {
    case 'TODAY':
      return [today, today + DAY];
    case 'YESTERDAY':
      return [today - DAY, today];
    case 'TOMORROW':
      return [today + DAY, today + 2 * DAY];
    case 'THIS_WEEK':
      return [weekStart, weekStart + 7 * DAY];
    case 'LAST_WEEK':
      return [weekStart - 7 * DAY, weekStart];
    case 'NEXT_WEEK':
      return [weekStart + 7 * DAY, weekStart + 14 * DAY];
    case 'THIS_MONTH':
      return [monthStart(y, m), monthStart(y, m + 1)];
    case 'LAST_MONTH':
      return [monthStart(y, m - 1), monthStart(y, m)];
    case 'NEXT_MONTH':
      return [monthStart(y, m + 1), monthStart(y, m + 2)];
    case 'THIS_YEAR':
      return [Date.UTC(y, 0, 1), Date.UTC(y + 1, 0, 1)];
    case 'LAST_YEAR':
      return [Date.UTC(y - 1, 0, 1), Date.UTC(y, 0, 1)];
    case 'NEXT_YEAR':
      return [Date.UTC(y + 1, 0, 1), Date.UTC(y + 2, 0, 1)];
    case 'LAST_90_DAYS':
      return [today - 90 * DAY, today + DAY];
    case 'NEXT_90_DAYS':
      return [today + DAY, today + 91 * DAY];
    case 'LAST_N_DAYS':
      return [today - k * DAY, today + DAY];
    case 'NEXT_N_DAYS':
      return [today + DAY, today + (k + 1) * DAY];
    case 'N_DAYS_AGO':
      return [today - k * DAY, today - (k - 1) * DAY];
    case 'LAST_N_WEEKS':
      return [weekStart - 7 * k * DAY, weekStart];
    case 'NEXT_N_WEEKS':
      return [weekStart + 7 * DAY, weekStart + 7 * (k + 1) * DAY];
    case 'LAST_N_MONTHS':
      return [monthStart(y, m - k), monthStart(y, m)];
    case 'NEXT_N_MONTHS':
      return [monthStart(y, m + 1), monthStart(y, m + 1 + k)];
    default:
      throw new Error(`unknown date literal ${name}`);
  }
}
