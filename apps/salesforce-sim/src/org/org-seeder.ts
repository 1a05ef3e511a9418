import type { VirtualClock } from '../core/virtual-clock';
import { normaliseId } from '../core/values';
import type { OrgConfig } from './org.schema';
import type { OrgStore } from './org-store';

const RELATIVE = /^(now|today)(?:([+-])(\d+)([smhd]))?$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Seed files may say `now-3d` or `today+1d` so that date filters like LAST_N_DAYS have data. */
function relativeTime(value: string, type: string, clock: VirtualClock): string | undefined {
  const m = RELATIVE.exec(value);
  if (!m) return undefined;
  const base = m[1] === 'today' ? Math.floor(clock.now() / 86_400_000) * 86_400_000 : clock.now();
  const delta = m[2] ? (m[2] === '-' ? -1 : 1) * Number(m[3]) * UNIT_MS[m[4] as keyof typeof UNIT_MS] : 0;
  const iso = new Date(base + delta).toISOString();
  return type === 'date' ? iso.slice(0, 10) : iso;
}

/**
 * Load the org file's records: ids first (so `@ref` can point forward, e.g. a user's manager defined
 * later), then the records without their references, then the references.
 * Returns the ids by `_ref` name.
 */
export function seedRecords(store: OrgStore, config: OrgConfig, clock: VirtualClock): Map<string, string> {
  const refs = new Map<string, string>();
  const plan: { object: string; id: string; index: number; data: Record<string, unknown> }[] = [];
  for (const [objectName, rows] of Object.entries(config.records)) {
    const o = store.model.object(objectName);
    if (!o) throw new Error(`records.${objectName}: unknown object`);
    rows.forEach((row, i) => {
      const { _ref, ...data } = row;
      const given = typeof data.Id === 'string' ? normaliseId(data.Id) : undefined;
      if (typeof data.Id === 'string' && !given) throw new Error(`records.${objectName}[${i}].Id: not a Salesforce id`);
      const id = given ?? store.nextId(o);
      if (typeof _ref === 'string') {
        if (refs.has(_ref)) throw new Error(`records.${objectName}.${i}: duplicate _ref ${_ref}`);
        refs.set(_ref, id);
      }
      plan.push({ object: o.name, id, index: i, data });
    });
  }
  const firstUser = plan.find((p) => p.object === 'User')?.id;
  const resolve = (v: unknown, where: string): unknown => {
    if (typeof v === 'string' && v.startsWith('@')) {
      const id = refs.get(v.slice(1));
      if (!id) throw new Error(`${where}: unknown reference ${v}`);
      return id;
    }
    return v;
  };

  const deferred: { id: string; where: string; data: Record<string, unknown> }[] = [];
  for (const p of plan) {
    const index = p.index;
    const o = store.model.object(p.object)!;
    const direct: Record<string, unknown> = { Id: p.id };
    const references: Record<string, unknown> = {};
    for (const [key, raw] of Object.entries(p.data)) {
      if (key === 'Id') continue;
      const f = o.field(key);
      const where = `records.${p.object}[${index}].${key}`;
      if (!f) throw new Error(`${where}: no such field on ${p.object}`);
      let v = resolve(raw, where);
      if (typeof v === 'string' && (f.type === 'datetime' || f.type === 'date')) v = relativeTime(v, f.type, clock) ?? v;
      if (v instanceof Date) v = f.type === 'date' ? v.toISOString().slice(0, 10) : v.toISOString();
      if (f.type === 'reference') references[f.name] = v;
      else direct[f.name] = v;
    }
    const creator = firstUser ?? p.id;
    direct.CreatedById ??= creator;
    direct.LastModifiedById ??= direct.CreatedById;
    try {
      store.create(p.object, direct, creator, true);
    } catch (err) {
      throw new Error(`records.${p.object}[${index}]: ${(err as Error).message}`);
    }
    if (Object.keys(references).length) deferred.push({ id: p.id, where: `records.${p.object}[${index}]`, data: references });
  }
  for (const d of deferred) {
    try {
      store.patchTrusted(d.id, d.data);
    } catch (err) {
      throw new Error(`${d.where}: ${(err as Error).message}`);
    }
  }
  return refs;
}
