import { describe, expect, it } from 'vitest';
import { compileMapping } from '@broker/mapping';

/** mulberry32: small, seeded, good enough to explore mapping shapes reproducibly. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof rng>;

const RELATIONSHIPS = ['Account', 'Owner', 'Manager', 'Contact', 'Parent'] as const;
const FIELDS = ['Name', 'Email', 'Phone', 'City__c', 'Code__c', 'Subject', 'Status'] as const;
const ZONE_FIELD = 'Site_Time_Zone__c';
const DATE = '2026-07-01T10:00:00.000+0000';

function path(r: Rng, leaf?: string): string {
  const hops = r.int(0, 5);
  const rels = Array.from({ length: hops }, () => r.pick(RELATIONSHIPS));
  return [...rels, leaf ?? r.pick(FIELDS)].join('.');
}

/** One random entry; every branch it has is taken for the records generated below. */
function entry(r: Rng, depth: number): unknown {
  const kind = r.int(0, depth > 1 ? 5 : 9);
  const transform: unknown[] = [];
  if (r.chance(0.3)) transform.push({ map: { NEVER_MATCHES: 1 }, fallback: { from: path(r) } });
  // Dates only where the value is a date (a field, or the fallback field of a missed value map).
  if (kind <= 1 && r.chance(0.3)) transform.push({ date: { zoneFrom: path(r, ZONE_FIELD), to: r.pick(['fn', 'iso', 'date']) } });
  if (r.chance(0.2)) transform.push('trim', { maxLength: 40 });
  const common = { ...(transform.length ? { transform } : {}), ...(r.chance(0.2) ? { when: path(r) } : {}) };
  switch (kind) {
    case 0:
    case 1:
      return r.chance(0.5) && !transform.length ? path(r) : { from: path(r), ...common };
    case 2:
      return { template: `x {{${path(r)}}} y {{ ${path(r)} }}`, ...common };
    case 3:
      return { concat: { parts: [path(r), { value: '-' }, path(r)], separator: ' ' }, ...common };
    case 4:
      return { value: r.pick(['a', 1, true, { id: 3 }]), ...(r.chance(0.3) ? { when: path(r) } : {}) };
    case 5: {
      const reads = Array.from({ length: r.int(1, 3) }, () => path(r));
      return r.chance(0.5)
        ? { jsonata: reads.map((p) => `$string(${p})`).join(' & "/" & '), reads }
        : { jsonnet: reads.map((p) => `std.toString($.util.lookup_field($.input, '${p}'))`).join(" + '/' + "), reads };
    }
    case 6:
    case 7: {
      const fields: Record<string, unknown> = {};
      for (let i = 0; i < r.int(1, 3); i++) fields[`c${i}`] = entry(r, depth + 1);
      return { fields, ...(r.chance(0.3) ? { when: path(r) } : {}) };
    }
    default:
      return { list: Array.from({ length: r.int(1, 3) }, () => entry(r, depth + 1)) };
  }
}

function randomMapping(r: Rng) {
  const fields: Record<string, unknown> = {};
  for (let i = 0; i < r.int(1, 8); i++) fields[`t${i}.v`] = entry(r, 0);
  const customFields: Record<string, unknown> = {};
  if (r.chance(0.5)) for (let i = 0; i < r.int(1, 3); i++) customFields[String(100 + i)] = entry(r, 2);
  return { object: 'Case', fields, customFields };
}

/** A record holding every path the mapping might read (and some it never reads), each non-null. */
function fullRecord(paths: string[]): Record<string, unknown> {
  const record: Record<string, unknown> = { attributes: { type: 'Case' }, Unread__c: 'u' };
  for (const p of paths) {
    const segments = p.split('.');
    let cur = record;
    for (const s of segments.slice(0, -1)) cur = (cur[s] ??= { attributes: { type: s }, Unread__c: 'u' }) as Record<string, unknown>;
    const leaf = segments.at(-1)!;
    cur[leaf] = leaf === ZONE_FIELD ? 'America/Chicago' : DATE;
  }
  return record;
}

/** Every path string in a mapping source (superset of what it reads). */
function mentionedPaths(source: unknown): string[] {
  const out = new Set<string>();
  const re =
    /(?:^|[^A-Za-z0-9_.$'])((?:Account|Owner|Manager|Contact|Parent|Name|Email|Phone|City__c|Code__c|Subject|Status|Site_Time_Zone__c)(?:\.[A-Za-z_]+)*)/g;
  for (const m of JSON.stringify(source).matchAll(re)) out.add(m[1]!);
  return [...out];
}

/** Wraps a record so every property read is logged by its dotted path. */
function tracking(obj: object, prefix: string, log: Set<string>): object {
  return new Proxy(obj, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof key !== 'string') return value;
      const p = prefix ? `${prefix}.${key}` : key;
      log.add(p);
      return value !== null && typeof value === 'object' ? tracking(value, p, log) : value;
    },
  });
}

const leaves = (log: Set<string>) => [...log].filter((p) => ![...log].some((q) => q.startsWith(`${p}.`))).sort();

describe('reported reads are exactly the fields a compiled mapping reads', () => {
  it('for 300 random mappings over records where every branch is taken', async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const r = rng(seed);
      const source = randomMapping(r);
      const m = compileMapping(source, { targets: 'unchecked' });
      expect([...new Set(m.reads)].sort(), `seed ${seed}: reads sorted and unique`).toEqual(m.reads);
      const record = fullRecord(mentionedPaths(source));
      const log = new Set<string>();
      await m.map(tracking(record, '', log) as Record<string, unknown>);
      expect(leaves(log), `seed ${seed}: ${JSON.stringify(source)}`).toEqual(m.reads);
      if (m.mapSync) {
        const syncLog = new Set<string>();
        m.mapSync(tracking(record, '', syncLog) as Record<string, unknown>);
        expect(leaves(syncLog)).toEqual(m.reads);
      }
    }
  });

  it('and never anything else, whatever is null', async () => {
    for (let seed = 1001; seed <= 1300; seed++) {
      const r = rng(seed);
      const source = randomMapping(r);
      const m = compileMapping(source, { targets: 'unchecked' });
      const record = fullRecord(mentionedPaths(source));
      // Null out random relationships and fields.
      const punch = (o: Record<string, unknown>) => {
        for (const k of Object.keys(o)) {
          if (k === 'attributes') continue;
          if (r.chance(0.25)) o[k] = null;
          else if (o[k] && typeof o[k] === 'object') punch(o[k] as Record<string, unknown>);
        }
      };
      punch(record);
      const log = new Set<string>();
      await m.map(tracking(record, '', log) as Record<string, unknown>).catch(() => undefined);
      const allowed = new Set(m.reads.flatMap((p) => p.split('.').map((_, i, s) => s.slice(0, i + 1).join('.'))));
      for (const p of log) expect(allowed.has(p), `seed ${seed}: read ${p} outside ${m.reads.join(', ')}`).toBe(true);
    }
  });
});
