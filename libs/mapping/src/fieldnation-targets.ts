/**
 * The Field Nation work-order target schema (derived from rest-v2.yaml, see
 * fieldnation-targets.generator.ts) and the questions the compiler and an editor ask of it: does a
 * target path exist, what does it take, which paths are close to a misspelt one.
 */
import { WORK_ORDER_TARGETS } from './fieldnation-targets.generated';

export type TargetNode =
  | { type: 'object'; properties: Record<string, TargetNode> }
  | { type: 'array'; items: TargetNode }
  | { type: 'string' | 'number' | 'integer' | 'boolean'; enum?: (string | number)[] }
  /** The definition does not describe the shape (an object without properties, a cycle): anything goes. */
  | { type: 'any' };

/** One settable path of the work order, for pickers: `location.city`, `types_of_work[]`, `contacts.results[].name`. */
export interface TargetInfo {
  path: string;
  type: TargetNode['type'];
  enum?: (string | number)[];
}

export { WORK_ORDER_TARGETS };

/** The node at a dotted path below `from` (default: the work order), or why there is none. */
export function lookupTarget(
  path: string,
  from: TargetNode = WORK_ORDER_TARGETS,
): { node: TargetNode } | { missing: string; parent: TargetNode; at: string } | { inList: string } {
  let node = from;
  const segments = path.split('.');
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (node.type === 'any') return { node };
    if (node.type === 'array') return { inList: segments.slice(0, i).join('.') };
    if (node.type !== 'object') return { missing: seg, parent: node, at: segments.slice(0, i).join('.') };
    const next = node.properties[seg];
    if (!next) return { missing: seg, parent: node, at: segments.slice(0, i).join('.') };
    node = next;
  }
  return { node };
}

/** Every path of the tree (objects and their leaves; `[]` marks list elements), sorted. */
export function listTargets(from: TargetNode = WORK_ORDER_TARGETS): TargetInfo[] {
  const out: TargetInfo[] = [];
  const walk = (node: TargetNode, path: string, depth: number) => {
    if (path) out.push({ path, type: node.type, ...('enum' in node && node.enum ? { enum: node.enum } : {}) });
    if (depth > 8) return;
    if (node.type === 'object') for (const [k, v] of Object.entries(node.properties)) walk(v, path ? `${path}.${k}` : k, depth + 1);
    if (node.type === 'array') walk(node.items, `${path}[]`, depth + 1);
  };
  walk(from, '', 0);
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Up to `max` of `candidates` closest to `word` (edit distance, case ignored; containment counts as close). */
export function closest(word: string, candidates: readonly string[], max = 3): string[] {
  const w = word.toLowerCase();
  const limit = Math.max(2, Math.floor(w.length / 3));
  const scored = candidates
    .map((c) => {
      const l = c.toLowerCase();
      const d = distance(w, l);
      const contains = w.length >= 3 && (l.includes(w) || w.includes(l));
      return { c, d: contains ? Math.min(d, 1) : d };
    })
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || a.c.localeCompare(b.c));
  // A near-certain match hides the far ones.
  const best = scored[0]?.d ?? 0;
  return scored
    .filter((x) => x.d <= best + 1)
    .slice(0, max)
    .map((x) => x.c);
}

/** Human name of what a node takes. */
export function describeNode(node: TargetNode): string {
  switch (node.type) {
    case 'object':
      return `an object {${Object.keys(node.properties).slice(0, 8).join(', ')}${Object.keys(node.properties).length > 8 ? ', …' : ''}}`;
    case 'array':
      return 'a list';
    case 'any':
      return 'anything';
    default:
      return node.enum ? `one of ${node.enum.map((v) => JSON.stringify(v)).join(', ')}` : `a ${node.type}`;
  }
}

/**
 * Why a constant does not fit a node, or undefined. Lenient where Field Nation is: numbers and
 * booleans are accepted as text, numeric text as a number; null always passes (it clears).
 */
export function valueProblem(node: TargetNode, value: unknown, at = ''): string | undefined {
  const where = at ? `${at}: ` : '';
  if (value === null || value === undefined || node.type === 'any') return undefined;
  switch (node.type) {
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) return `${where}must be ${describeNode(node)}, got ${JSON.stringify(value)}`;
      for (const [k, v] of Object.entries(value)) {
        const child = node.properties[k];
        const sub = at ? `${at}.${k}` : k;
        if (!child) {
          const near = closest(k, Object.keys(node.properties));
          return `${sub}: Field Nation has no such field${near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)` : ''}`;
        }
        const p = valueProblem(child, v, sub);
        if (p) return p;
      }
      return undefined;
    }
    case 'array': {
      if (!Array.isArray(value)) return `${where}must be a list, got ${JSON.stringify(value)}`;
      for (let i = 0; i < value.length; i++) {
        const p = valueProblem(node.items, value[i], `${at}[${i}]`);
        if (p) return p;
      }
      return undefined;
    }
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `${where}must be true or false, got ${JSON.stringify(value)}`;
    case 'number':
    case 'integer': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n)) return `${where}must be a number, got ${JSON.stringify(value)}`;
      if (node.type === 'integer' && !Number.isInteger(n)) return `${where}must be a whole number, got ${JSON.stringify(value)}`;
      if (node.enum && !node.enum.includes(n)) return `${where}must be ${describeNode(node)}, got ${JSON.stringify(value)}`;
      return undefined;
    }
    case 'string': {
      if (typeof value === 'object') return `${where}must be text, got ${JSON.stringify(value)}`;
      if (node.enum && !node.enum.includes(String(value))) {
        const near = closest(String(value), node.enum.map(String), 1);
        return `${where}${JSON.stringify(value)} is not a value Field Nation accepts: ${describeNode(node)}${near.length ? ` (did you mean "${near[0]}"?)` : ''}`;
      }
      return undefined;
    }
  }
}
