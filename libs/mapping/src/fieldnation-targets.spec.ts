import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { deriveWorkOrderTargets, renderTargetsModule } from './fieldnation-targets.generator';
import { closest, listTargets, lookupTarget, valueProblem } from './fieldnation-targets';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// The unchanged copy of Field Nation's rest-v2.yaml the simulator's contract check uses too.
const definition = parse(readFileSync(path.join(root, 'apps/fieldnation-sim/openapi/rest-v2.yaml'), 'utf8'));

describe('the Field Nation target schema', () => {
  it('is what rest-v2.yaml gives today (regenerate: npx tsx scripts/generate-fieldnation-targets.ts)', () => {
    const committed = readFileSync(path.join(root, 'libs/mapping/src/fieldnation-targets.generated.ts'), 'utf8');
    expect(committed).toBe(renderTargetsModule(deriveWorkOrderTargets(definition)));
  });

  it('holds the create body fields with their documented types and enums', () => {
    const paths = new Map(listTargets().map((t) => [t.path, t]));
    expect(paths.get('title')).toEqual({ path: 'title', type: 'string' });
    expect(paths.get('schedule.service_window.mode')).toEqual({
      path: 'schedule.service_window.mode',
      type: 'string',
      enum: ['hours', 'between', 'exact'],
    });
    expect(paths.get('types_of_work[].isPrimary')?.type).toBe('boolean');
    expect(paths.get('pay.base.amount')?.type).toBe('number');
    expect(paths.get('contacts.results[].email')?.type).toBe('string');
    // Supplements, named in the generator with their source.
    expect(paths.get('location.mode')?.enum).toEqual(['custom', 'location', 'remote']);
    expect(paths.get('custom_fields.results[].results[].value')?.type).toBe('string');
  });

  it('fails loudly when the definition loses a body it derives from', () => {
    expect(() => deriveWorkOrderTargets({ components: { schemas: {} } })).toThrow(/WorkOrderCreateDto is missing/);
  });

  it('answers path questions', () => {
    expect(lookupTarget('location.city')).toEqual({ node: { type: 'string' } });
    expect(lookupTarget('locaton.city')).toMatchObject({ missing: 'locaton', at: '' });
    expect(lookupTarget('contacts.results.name')).toEqual({ inList: 'contacts.results' });
    expect(closest('locaton.city', ['location.city', 'location.state', 'title'])).toEqual(['location.city']);
    expect(valueProblem({ type: 'string', enum: ['hours', 'between', 'exact'] }, 'betwen')).toBe(
      '"betwen" is not a value Field Nation accepts: one of "hours", "between", "exact" (did you mean "between"?)',
    );
    expect(valueProblem({ type: 'number' }, '12')).toBeUndefined();
    expect(valueProblem({ type: 'number' }, 'twelve')).toBe('must be a number, got "twelve"');
  });
});
