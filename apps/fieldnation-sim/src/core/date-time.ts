import { DateTime } from 'luxon';

/** Field Nation date-time object: UTC in `YYYY-MM-DD HH:MM:SS`, local derived from the site's zone. */
export interface FnDateTime {
  utc: string;
  local: { date: string; time: string };
}

const FN_FORMAT = 'yyyy-MM-dd HH:mm:ss';

/** Accepts the documented space format and ISO 8601 (playground examples); undefined if neither. */
export function parseFnUtc(value: string): DateTime | undefined {
  const spaced = DateTime.fromFormat(value, FN_FORMAT, { zone: 'utc' });
  if (spaced.isValid) return spaced;
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const iso = DateTime.fromISO(value, { zone: 'utc' });
  return iso.isValid ? iso.toUTC() : undefined;
}

export function fnDateTime(at: DateTime | number, zone: string): FnDateTime {
  const utc = (typeof at === 'number' ? DateTime.fromMillis(at) : at).toUTC();
  const local = utc.setZone(zone);
  return { utc: utc.toFormat(FN_FORMAT), local: { date: local.toFormat('yyyy-MM-dd'), time: local.toFormat('HH:mm:ss') } };
}

/** Webhook `timestamp`: ISO 8601 with the company's offset, as in the documented example. */
export function isoWithOffset(at: number, zone: string): string {
  return DateTime.fromMillis(at).setZone(zone).toISO({ suppressMilliseconds: true }) ?? new Date(at).toISOString();
}

const STATE_ZONES: Record<string, string> = {
  CA: 'America/Los_Angeles',
  WA: 'America/Los_Angeles',
  OR: 'America/Los_Angeles',
  NV: 'America/Los_Angeles',
  AZ: 'America/Phoenix',
  CO: 'America/Denver',
  UT: 'America/Denver',
  NM: 'America/Denver',
  MT: 'America/Denver',
  ID: 'America/Denver',
  NY: 'America/New_York',
  NJ: 'America/New_York',
  MA: 'America/New_York',
  PA: 'America/New_York',
  FL: 'America/New_York',
  GA: 'America/New_York',
  NC: 'America/New_York',
  SC: 'America/New_York',
  VA: 'America/New_York',
  OH: 'America/New_York',
  MI: 'America/Detroit',
  CT: 'America/New_York',
  MD: 'America/New_York',
  DC: 'America/New_York',
  AK: 'America/Anchorage',
  HI: 'Pacific/Honolulu',
};

/** Coarse state → IANA zone; the rest of the US (and unknown) default to Central, the company's zone. */
export function zoneForState(state: string | undefined): string {
  return (state && STATE_ZONES[state.toUpperCase()]) || 'America/Chicago';
}
