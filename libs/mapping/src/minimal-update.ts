import { createHash } from 'node:crypto';
import type { WorkOrderPayload } from './mapping-types';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** JSON with object keys sorted at every level: equal payloads serialise identically. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (isObj(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** Stable hash of a payload (sha256 of canonical JSON), for skip-if-unchanged. */
export function payloadHash(payload: unknown): string {
  return createHash('sha256').update(canonicalJson(payload)).digest('hex');
}

type CustomField = { id: number; value: unknown };

/** Custom-field values by id from either the two-level request shape or a work order as Field Nation returns it. */
export function customFieldValues(section: unknown): Map<number, unknown> {
  const out = new Map<number, unknown>();
  const visit = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (isObj(node)) {
      if ('results' in node) visit(node.results);
      else if ('id' in node && 'value' in node) out.set(Number(node.id), node.value);
    }
  };
  visit(section);
  return out;
}

/**
 * `next` is contained in `current`: every leaf `next` sets has the same value there. Works against
 * the previous payload (same shape) and against a work order fetched from Field Nation (a superset
 * with extra keys such as `local` times, `correlation_id`, `actions`).
 */
function contains(current: unknown, next: unknown): boolean {
  if (next === current) return true;
  if (Array.isArray(next)) {
    if (!Array.isArray(current)) return false;
    // A fetched collection is `{results: [...]}` in responses; the request sends the array itself.
    if (next.length !== current.length) return false;
    return next.every((v, i) => contains(current[i], v));
  }
  if (isObj(next)) {
    if (!isObj(current)) return false;
    for (const k of Object.keys(next)) if (!contains(current[k], next[k])) return false;
    return true;
  }
  // Field Nation returns some numbers as strings and vice versa (ids, amounts).
  if ((typeof next === 'number' && typeof current === 'string') || (typeof next === 'string' && typeof current === 'number')) {
    return String(next) === String(current);
  }
  return false;
}

function removePath(obj: Obj, segments: string[]): void {
  const [head, ...rest] = segments;
  if (head === undefined || !(head in obj)) return;
  if (rest.length === 0) {
    delete obj[head];
    return;
  }
  const child = obj[head];
  if (isObj(child)) {
    const copy = { ...child };
    removePath(copy, rest);
    if (Object.keys(copy).length === 0) delete obj[head];
    else obj[head] = copy;
  }
}

function withoutCreateOnly(next: WorkOrderPayload, createOnly: readonly string[]): WorkOrderPayload {
  if (createOnly.length === 0) return next;
  const out: Obj = { ...next };
  const customDrop = new Set<number>();
  for (const path of createOnly) {
    const m = /^custom_fields\.(\d+)$/.exec(path);
    if (m) customDrop.add(Number(m[1]));
    else removePath(out, path.split('.'));
  }
  if (customDrop.size && out.custom_fields !== undefined) {
    const kept = [...customFieldValues(out.custom_fields)].filter(([id]) => !customDrop.has(id));
    if (kept.length) out.custom_fields = { results: [{ results: kept.map(([id, value]) => ({ id, value })) }] };
    else delete out.custom_fields;
  }
  return out;
}

/**
 * The smallest update that brings the work order from `previous` to `next`, or null when nothing
 * changed. `previous` is the payload last sent for the record, or the work order as Field Nation
 * returns it; undefined means unknown, so everything (except create-only paths) is sent.
 *
 * Granularity is the top-level section (`location`, `schedule`, `pay`, ...): Field Nation validates
 * each section as a whole (a location needs its mode, a schedule its window), so a changed section is
 * sent complete. Custom fields are the exception: each value is independent and only changed ones are
 * sent. A target the mapping now omits is left alone on Field Nation (omit means "don't touch");
 * send an explicit null (onNull: null) to clear a value.
 */
export function minimalUpdate(
  previous: WorkOrderPayload | undefined,
  next: WorkOrderPayload,
  createOnly: readonly string[] = [],
): WorkOrderPayload | null {
  const candidate = withoutCreateOnly(next, createOnly);
  if (previous === undefined) return Object.keys(candidate).length ? candidate : null;
  const out: Obj = {};
  for (const [key, value] of Object.entries(candidate)) {
    if (key === 'custom_fields') {
      const before = customFieldValues(previous.custom_fields);
      const changed: CustomField[] = [];
      for (const [id, v] of customFieldValues(value)) {
        const old = before.get(id);
        if (!(before.has(id) && (old === v || (old != null && v != null && String(old) === String(v))))) changed.push({ id, value: v });
      }
      if (changed.length) out.custom_fields = { results: [{ results: changed }] };
      continue;
    }
    let current = previous[key];
    // Collections come back wrapped ({results: [...]}) where the request may send the bare list.
    if (Array.isArray(value) && isObj(current) && Array.isArray(current.results)) current = current.results;
    if (!contains(current, value)) out[key] = value;
  }
  return Object.keys(out).length ? out : null;
}
