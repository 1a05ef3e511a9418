import jsonata from 'jsonata';
import { convertDate } from './date-time';

export interface CompiledJsonata {
  evaluate(input: unknown): Promise<unknown>;
  /** Dotted name paths the expression refers to (best effort, for checking `reads`). */
  paths: string[];
}

/** Parse once; throws with JSONata's message and position. */
export function compileJsonata(expression: string): CompiledJsonata {
  const expr = jsonata(expression);
  // Field Nation's date format is the one conversion every mapping needs.
  expr.registerFunction('fnDate', (value: unknown, zone?: string) =>
    value == null ? undefined : convertDate(value, { zone: zone ?? 'UTC', to: 'fn', toZone: 'UTC' }),
  );
  return {
    async evaluate(input) {
      const v = await expr.evaluate(input);
      return v === undefined ? null : v;
    },
    paths: collectPaths(expr.ast()),
  };
}

type Node = { type?: string; value?: unknown; steps?: Node[]; [key: string]: unknown };

function collectPaths(ast: unknown): string[] {
  const out = new Set<string>();
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const n = node as Node;
    if (n.type === 'path' && Array.isArray(n.steps)) {
      const names: string[] = [];
      for (const s of n.steps) {
        if (s.type !== 'name' || typeof s.value !== 'string') break;
        names.push(s.value);
      }
      if (names.length) out.add(names.join('.'));
      // Predicates and later steps are relative to the path: not record reads of their own.
      const first = n.steps[0];
      if (first && first.type !== 'name') visit(first);
      return;
    }
    if (n.type === 'name' && typeof n.value === 'string') {
      out.add(n.value);
      return;
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'value' || typeof v === 'object') visit(v);
  };
  visit(ast);
  return [...out];
}
