/**
 * Checks a mapping's targets against the Field Nation work-order schema (fieldnation-targets.ts):
 * every target path exists, `fields:` builds objects and `list:` builds lists where Field Nation has
 * them, and every constant a target can receive (a `value:` without transforms, a `default:`, the
 * results and fallbacks of a final value or range map) is of the right type and, for enums, one of
 * the documented values. Values read from Salesforce are checked against the object's describe by
 * `broker doctor`, not here: only the constants are known without a live org.
 */
import { closest, describeNode, listTargets, lookupTarget, valueProblem, WORK_ORDER_TARGETS, type TargetNode } from './fieldnation-targets';
import type { MappingIssue } from './mapping-types';

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => v !== null && typeof v === 'object' && !Array.isArray(v);

const TARGET_DOCS = 'the work-order targets are listed by `broker mapping targets` and in docs/mapping.md ("Targets")';

/** Constants an entry can hand its target, or undefined when its value comes from the record. */
function constantOutputs(entry: Raw): unknown[] | undefined {
  const steps = Array.isArray(entry.transform) ? entry.transform : [];
  let known: unknown[] | undefined = 'value' in entry ? [entry.value] : undefined;
  for (const step of steps) {
    if (isObject(step) && ('map' in step || 'range' in step)) {
      const outs: unknown[] = [];
      if (isObject(step.map)) outs.push(...Object.values(step.map));
      if (Array.isArray(step.range)) for (const r of step.range) if (isObject(r)) outs.push(r.value);
      const fb = step.fallback;
      if (typeof fb === 'number' || typeof fb === 'boolean') outs.push(fb);
      else if (isObject(fb) && 'value' in fb) outs.push(fb.value);
      // With a keep or from fallback the record's own value may pass too: unchecked, like any read.
      known = outs;
    } else if (step === 'typesOfWork' && known) {
      known = known.map((v) => (Array.isArray(v) ? v : [v]).map((id, i) => ({ id, isPrimary: i === 0 })));
    } else {
      known = undefined;
    }
  }
  return known;
}

export function checkTargets(fields: Raw, issues: MappingIssue[], base: TargetNode = WORK_ORDER_TARGETS, prefix = ''): void {
  for (const [t, entry] of Object.entries(fields)) {
    const full = prefix ? `${prefix}.${t}` : t;
    const found = lookupTarget(t, base);
    if ('inList' in found) {
      const list = prefix ? `${prefix}.${found.inList}` : found.inList;
      issues.push({
        target: full,
        message: `"${list}" is a list on Field Nation; a path cannot reach into its elements`,
        fix: `build the list at "${list}" with list: [ { fields: { … } } ]`,
      });
      continue;
    }
    if ('missing' in found) {
      const candidates = listTargets(base)
        .map((x) => x.path)
        .filter((p) => !p.includes('[]'));
      const near = closest(t, candidates);
      const at = found.at ? ` under "${prefix ? `${prefix}.` : ''}${found.at}"` : '';
      issues.push({
        target: full,
        message: `Field Nation's work order has no field "${found.missing}"${at}`,
        fix: near.length
          ? `did you mean ${near.map((n) => `"${prefix ? `${prefix}.` : ''}${n}"`).join(' or ')}? (${TARGET_DOCS})`
          : TARGET_DOCS,
      });
      continue;
    }
    checkEntry(entry, found.node, full, issues);
  }
}

function checkEntry(entry: unknown, node: TargetNode, target: string, issues: MappingIssue[]): void {
  if (!isObject(entry)) return;
  if (isObject(entry.fields)) {
    if (node.type === 'object' || node.type === 'any') {
      if (node.type === 'object') checkTargets(entry.fields, issues, node, target);
    } else {
      issues.push({
        target,
        message: `takes ${describeNode(node)}, not an object built with fields:`,
        fix: `map a single value to "${target}" (from:, value:, …)`,
      });
    }
  }
  if (Array.isArray(entry.list)) {
    if (node.type === 'array') entry.list.forEach((item, i) => checkEntry(item, node.items, `${target}[${i}]`, issues));
    else if (node.type !== 'any')
      issues.push({ target, message: `takes ${describeNode(node)}, not a list`, fix: `remove list: or map to a list target` });
  }
  const check = (value: unknown, what: string) => {
    const problem = valueProblem(node, value);
    if (!problem) return;
    const fix =
      'enum' in node && node.enum
        ? `use one of ${node.enum.map((v) => JSON.stringify(v)).join(', ')}`
        : `give ${describeNode(node)} (the type rest-v2.yaml documents for "${target}")`;
    issues.push({ target, message: `${what}: ${problem}`, fix });
  };
  const outs = constantOutputs(entry);
  if (outs) for (const v of outs) check(v, 'value' in entry && !entry.transform ? 'value' : 'mapped value');
  if ('default' in entry) check(entry.default, 'default');
}
