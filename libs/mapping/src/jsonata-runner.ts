import jsonata from 'jsonata';
import { convertDate } from './date-time';
import { jsonataReads, type StaticReads } from './expression-reads';

export interface CompiledJsonata {
  evaluate(input: unknown): Promise<unknown>;
  /** Record paths the expression names, and whether some read can only be seen by evaluating it. */
  reads: StaticReads;
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
    reads: jsonataReads(expr.ast()),
  };
}
