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

/**
 * Statements reading `path` from `source` into the variable `v` (declared by them). Missing and null
 * both read as null; a null parent (or a non-object) makes every field below it null. Keys are
 * JSON-quoted, so any path text is safe in generated code; constant keys keep each load site
 * monomorphic, which a shared getter indexing with a variable key cannot be.
 */
export function getterSource(path: string, v: string, source = 'r'): string {
  const segments = path.split('.');
  const lines = [`let ${v} = ${source}[${JSON.stringify(segments[0])}];`];
  for (const seg of segments.slice(1)) {
    lines.push(`${v} = ${v} === null || ${v} === undefined || typeof ${v} !== 'object' ? null : ${v}[${JSON.stringify(seg)}];`);
  }
  lines.push(`if (${v} === undefined) ${v} = null;`);
  return lines.join('\n');
}

/** One generated function per path (see getterSource), so no two paths share a load site. */
export function makeGetter(path: string): Getter {
  return new Function('r', `${getterSource(path, 'v')}\nreturn v;`) as Getter;
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
