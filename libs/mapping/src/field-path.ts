/**
 * Field paths on both sides of a mapping, and the precompiled getters and setters that read and
 * write them. Getters are specialised by depth because they run once per entry per record.
 */

const SF_SEGMENT = /^[A-Za-z][A-Za-z0-9_]*$/;
const TARGET_SEGMENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DATA_SEGMENT = /^(?:[A-Za-z_$][A-Za-z0-9_$-]*|\d+)$/;

/** Salesforce allows at most 5 child-to-parent hops in one path (`A.B.C.D.E.Field`). */
export const MAX_RELATIONSHIP_HOPS = 5;

export type PathKind = 'salesforce' | 'data';

/** Why a source path is invalid, or undefined when it is fine. */
export function checkSourcePath(path: string, kind: PathKind): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'empty field path';
  const segments = path.split('.');
  if (kind === 'salesforce') {
    for (const s of segments) {
      if (!SF_SEGMENT.test(s)) return `"${path}" is not a Salesforce field path (segment "${s}")`;
      if (s === 'attributes') return `"${path}": "attributes" is jsforce metadata, not a field`;
    }
    if (segments.length - 1 > MAX_RELATIONSHIP_HOPS) {
      return `"${path}" has ${segments.length - 1} relationship levels; Salesforce allows at most ${MAX_RELATIONSHIP_HOPS}`;
    }
    return undefined;
  }
  for (const s of segments) if (!DATA_SEGMENT.test(s)) return `"${path}" is not a field path (segment "${s}")`;
  return undefined;
}

export function checkTargetPath(path: string): string | undefined {
  if (typeof path !== 'string' || path.length === 0) return 'empty target path';
  for (const s of path.split('.')) if (!TARGET_SEGMENT.test(s)) return `"${path}" is not a target path (segment "${s}")`;
  return undefined;
}

export type Getter = (source: unknown) => unknown;

type Obj = Record<string, unknown>;

/** Missing and null both read as null; a null parent makes every field below it null. */
export function makeGetter(path: string): Getter {
  const s = path.split('.');
  switch (s.length) {
    case 1: {
      const [a] = s as [string];
      return (r) => {
        const v = (r as Obj)[a];
        return v === undefined ? null : v;
      };
    }
    case 2: {
      const [a, b] = s as [string, string];
      return (r) => {
        const p = (r as Obj)[a];
        if (p == null || typeof p !== 'object') return null;
        const v = (p as Obj)[b];
        return v === undefined ? null : v;
      };
    }
    case 3: {
      const [a, b, c] = s as [string, string, string];
      return (r) => {
        const p = (r as Obj)[a];
        if (p == null || typeof p !== 'object') return null;
        const q = (p as Obj)[b];
        if (q == null || typeof q !== 'object') return null;
        const v = (q as Obj)[c];
        return v === undefined ? null : v;
      };
    }
    default:
      return (r) => {
        let cur: unknown = r;
        for (let i = 0; i < s.length; i++) {
          if (cur == null || typeof cur !== 'object') return null;
          cur = (cur as Obj)[s[i]!];
        }
        return cur === undefined ? null : cur;
      };
  }
}

export type Setter = (target: Obj, value: unknown) => void;

/** Creates intermediate objects on the way; the compiler guarantees no path is a prefix of another. */
export function makeSetter(path: string): Setter {
  const s = path.split('.');
  switch (s.length) {
    case 1: {
      const [a] = s as [string];
      return (t, v) => {
        t[a] = v;
      };
    }
    case 2: {
      const [a, b] = s as [string, string];
      return (t, v) => {
        const p = (t[a] ??= {}) as Obj;
        p[b] = v;
      };
    }
    default: {
      const last = s[s.length - 1]!;
      const head = s.slice(0, -1);
      return (t, v) => {
        let cur = t;
        for (let i = 0; i < head.length; i++) cur = (cur[head[i]!] ??= {}) as Obj;
        cur[last] = v;
      };
    }
  }
}

/** Copy exactly the given paths of a record into a fresh object (the input of an expression). */
export function makeProjector(paths: readonly string[]): (record: unknown) => Obj {
  const pairs = paths.map((p) => [makeGetter(p), makeSetter(p)] as const);
  return (record) => {
    const out: Obj = {};
    for (const [get, set] of pairs) {
      const v = get(record);
      // A null parent stays a null parent, like in the SOQL result.
      set(out, v);
    }
    return out;
  };
}

/** Two target paths conflict when one is the other or a prefix of it (`location` vs `location.city`). */
export function findConflict(paths: readonly string[]): [string, string] | undefined {
  const sorted = [...paths].sort();
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    if (a === b || b.startsWith(`${a}.`)) return [a, b];
  }
  return undefined;
}
