import { XMLParser } from 'fast-xml-parser';
import { toId18 } from '@broker/salesforce';
import { SfError } from '../core/sf-error';
import type { RecordData } from '../org/org-model';
import type { RecordEvent } from '../org/org-store';

// fast-xml-parser returns untyped trees; every value read from one is checked before use.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type XmlNode = Record<string, any>;

/**
 * Record-triggered Flows as Metadata API XML (what `broker salesforce metadata` generates and an admin
 * deploys), run by the simulated org. Only the subset the generator emits is understood: an after-save
 * start on one object, entry conditions with EqualTo / NotEqualTo / IsNull on the record's own fields
 * joined by `and`, `or` or custom condition logic (`(1 OR 2) AND 3`), and one Outbound Message action.
 * Anything else is refused when the Flow is deployed rather than half-evaluated, so the simulator never
 * passes a Flow it would run differently from Salesforce.
 */

export interface FlowCondition {
  field: string;
  operator: 'EqualTo' | 'NotEqualTo' | 'IsNull';
  /** For IsNull: true = "is null", false = "is not null" (FlowRecordFilter takes a booleanValue). */
  value: string | number | boolean;
}

/** filterLogic as a tree over 0-based condition indexes. */
export type FlowLogic = { all: FlowLogic[] } | { any: FlowLogic[] } | { not: FlowLogic } | { condition: number };

export interface MetadataFlow {
  name: string;
  object: string;
  recordTriggerType: 'Create' | 'Update' | 'CreateAndUpdate';
  conditions: FlowCondition[];
  logic: FlowLogic;
  /** Unique name of the Outbound Message the action sends (`<Object>.<name>` in the XML). */
  outboundMessage: string;
  active: boolean;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => ['actionCalls', 'filters'].includes(name),
});

const FLOW_KEYS = new Set(['actionCalls', 'apiVersion', 'description', 'interviewLabel', 'label', 'processType', 'start', 'status']);
const START_KEYS = new Set(['locationX', 'locationY', 'connector', 'filterLogic', 'filters', 'object', 'recordTriggerType', 'triggerType']);
const ACTION_KEYS = new Set(['name', 'label', 'locationX', 'locationY', 'actionName', 'actionType']);

function refuse(flow: string, what: string): never {
  throw new SfError(400, 'INVALID_INPUT', `flow ${flow}: ${what} is not supported by the simulator`);
}

function only(flow: string, where: string, node: Record<string, unknown>, allowed: Set<string>): void {
  for (const key of Object.keys(node)) if (!allowed.has(key)) refuse(flow, `${where}.${key}`);
}

/**
 * Custom condition logic as Flow Builder takes it: condition numbers (1-based), AND, OR, NOT and
 * parentheses. Refused rather than guessed: a condition the logic does not use, a number with no
 * condition, and AND mixed with OR without parentheses (no precedence rule to get wrong).
 */
export function parseFilterLogic(flow: string, logic: string, count: number): FlowLogic {
  const tokens = logic.match(/\d+|\(|\)|[A-Za-z]+|\S/g) ?? [];
  let pos = 0;
  const bad = (why: string): never => refuse(flow, `start.filterLogic "${logic}" (${why})`);
  const used = new Set<number>();
  const primary = (): FlowLogic => {
    const t = tokens[pos++];
    if (t === undefined) return bad('ends early');
    if (t === '(') {
      const inner = expr();
      if (tokens[pos++] !== ')') bad('unbalanced parentheses');
      return inner;
    }
    if (/^NOT$/i.test(t)) return { not: primary() };
    if (/^\d+$/.test(t)) {
      const n = Number(t);
      if (n < 1 || n > count) bad(`no condition ${n}`);
      used.add(n - 1);
      return { condition: n - 1 };
    }
    return bad(`unexpected "${t}"`);
  };
  const expr = (): FlowLogic => {
    const first = primary();
    const op = tokens[pos];
    if (op === undefined || op === ')') return first;
    if (!/^(AND|OR)$/i.test(op)) bad(`unexpected "${op}"`);
    const items = [first];
    while (tokens[pos] !== undefined && tokens[pos] !== ')') {
      if (tokens[pos]!.toUpperCase() !== op.toUpperCase()) bad('AND and OR mixed without parentheses');
      pos++;
      items.push(primary());
    }
    return op.toUpperCase() === 'AND' ? { all: items } : { any: items };
  };
  const tree = expr();
  if (pos !== tokens.length) bad(`unexpected "${tokens[pos]}"`);
  for (let i = 0; i < count; i++) if (!used.has(i)) bad(`condition ${i + 1} is not used`);
  return tree;
}

function text(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

/** Parse one `<Flow>` document; `name` is its API name (the file name in a deployment). */
export function parseFlowMetadata(name: string, xml: string): MetadataFlow {
  let doc: XmlNode;
  try {
    doc = parser.parse(xml);
  } catch (err) {
    throw new SfError(400, 'INVALID_INPUT', `flow ${name}: not XML (${(err as Error).message})`);
  }
  const flow = doc.Flow as XmlNode | undefined;
  if (!flow || typeof flow !== 'object') throw new SfError(400, 'INVALID_INPUT', `flow ${name}: no <Flow> element`);
  only(name, 'Flow', flow, FLOW_KEYS);
  if (text(flow.processType) !== 'AutoLaunchedFlow') refuse(name, `processType ${text(flow.processType)}`);
  const start = flow.start as XmlNode | undefined;
  if (!start || typeof start !== 'object') refuse(name, 'a Flow without a record-triggered start');
  only(name, 'start', start, START_KEYS);
  if (text(start.triggerType) !== 'RecordAfterSave') refuse(name, `start.triggerType ${text(start.triggerType) || '(none)'}`);
  const recordTriggerType = text(start.recordTriggerType);
  if (recordTriggerType !== 'Create' && recordTriggerType !== 'Update' && recordTriggerType !== 'CreateAndUpdate')
    refuse(name, `start.recordTriggerType ${recordTriggerType || '(none)'}`);
  const object = text(start.object);
  if (!object) refuse(name, 'a start without an object');

  const filters = (start.filters ?? []) as XmlNode[];
  if (filters.length === 0 && start.filterLogic !== undefined) refuse(name, 'start.filterLogic without filters');
  const conditions = filters.map((f): FlowCondition => {
    only(name, 'start.filters', f, new Set(['field', 'operator', 'value']));
    const operator = text(f.operator);
    if (operator !== 'EqualTo' && operator !== 'NotEqualTo' && operator !== 'IsNull') refuse(name, `filter operator ${operator}`);
    const v = (f.value ?? {}) as Record<string, unknown>;
    const kinds = Object.keys(v);
    if (kinds.length !== 1) refuse(name, `a filter value with ${kinds.length ? kinds.join(' + ') : 'nothing'}`);
    const kind = kinds[0]!;
    const raw = text(v[kind]);
    const value =
      kind === 'booleanValue'
        ? raw === 'true'
          ? true
          : raw === 'false'
            ? false
            : refuse(name, `booleanValue "${raw}"`)
        : kind === 'numberValue'
          ? Number.isFinite(Number(raw)) && raw !== ''
            ? Number(raw)
            : refuse(name, `numberValue "${raw}"`)
          : kind === 'stringValue'
            ? raw
            : refuse(name, `filter value ${kind}`);
    if (operator === 'IsNull' && typeof value !== 'boolean') refuse(name, `IsNull with ${kind}`);
    return { field: text(f.field), operator, value };
  });
  // "and" / "or" as Flow Builder writes them for All / Any Condition Requirements; anything else
  // (formula_evaluates_to_true, no_conditions, ...) must be custom logic over the conditions.
  const logicText = text(start.filterLogic).trim();
  const all = conditions.map((_, i) => ({ condition: i }));
  const logic: FlowLogic =
    logicText.toLowerCase() === 'and'
      ? { all }
      : logicText.toLowerCase() === 'or'
        ? { any: all }
        : filters.length === 0
          ? { all: [] }
          : /^[\d\s()]/.test(logicText)
            ? parseFilterLogic(name, logicText, conditions.length)
            : refuse(name, `start.filterLogic "${logicText}"`);

  const actions = (flow.actionCalls ?? []) as XmlNode[];
  if (actions.length !== 1) refuse(name, `${actions.length} actions (exactly one Outbound Message action is)`);
  const action = actions[0]!;
  only(name, 'actionCalls', action, ACTION_KEYS);
  if (text(action.actionType) !== 'outboundMessage') refuse(name, `actionType ${text(action.actionType)}`);
  if (text(start.connector?.targetReference) !== text(action.name)) refuse(name, 'a start that does not lead to the action');
  const [actionObject, omName, ...rest] = text(action.actionName).split('.');
  if (!omName || rest.length) refuse(name, `actionName "${text(action.actionName)}"`);
  if (actionObject !== object)
    throw new SfError(400, 'INVALID_INPUT', `flow ${name}: the Outbound Message ${text(action.actionName)} is not on ${object}`);

  const status = text(flow.status) || 'Draft';
  return { name, object, recordTriggerType, conditions, logic, outboundMessage: omName, active: status === 'Active' };
}

const norm = (v: unknown) => (v === undefined || v === null ? null : String(v));

function sameId(a: unknown, b: string): boolean {
  try {
    return typeof a === 'string' && toId18(a).toLowerCase() === toId18(b).toLowerCase();
  } catch {
    return false;
  }
}

/** Does this committed save start the Flow? `isId(field)`: id and lookup fields compare as 15/18-character ids. */
export function flowStarts(flow: MetadataFlow, e: RecordEvent, isId: (field: string) => boolean): boolean {
  if (!flow.active || e.op === 'delete' || flow.object !== e.object) return false;
  if (flow.recordTriggerType === 'Create' && e.op !== 'create') return false;
  if (flow.recordTriggerType === 'Update' && e.op !== 'update') return false;
  const after: RecordData = e.after;
  const holds = (c: FlowCondition): boolean => {
    const now = after[c.field];
    // Salesforce stores no empty text: '' is null.
    if (c.operator === 'IsNull') return (now === undefined || now === null || now === '') === c.value;
    const equal =
      typeof c.value === 'boolean'
        ? (now ?? false) === c.value
        : typeof c.value === 'number'
          ? now !== null && now !== undefined && Number(now) === c.value
          : isId(c.field)
            ? sameId(now, c.value)
            : norm(now) === c.value;
    return c.operator === 'EqualTo' ? equal : !equal;
  };
  const run = (l: FlowLogic): boolean =>
    'all' in l ? l.all.every(run) : 'any' in l ? l.any.some(run) : 'not' in l ? !run(l.not) : holds(flow.conditions[l.condition]!);
  return run(flow.logic);
}

/** The `<outboundMessages>` of a `workflows/<Object>.workflow-meta.xml` file, as simulator definitions. */
export function parseWorkflowMetadata(
  object: string,
  xml: string,
): {
  name: string;
  object: string;
  endpointUrl: string;
  fields: string[];
  includeSessionId: boolean;
  integrationUser?: string;
  apiVersion?: string;
}[] {
  let doc: XmlNode;
  try {
    doc = new XMLParser({
      ignoreAttributes: true,
      parseTagValue: false,
      trimValues: true,
      isArray: (n) => ['outboundMessages', 'fields', 'rules', 'alerts', 'fieldUpdates', 'tasks'].includes(n),
    }).parse(xml);
  } catch (err) {
    throw new SfError(400, 'INVALID_INPUT', `workflow ${object}: not XML (${(err as Error).message})`);
  }
  const wf = doc.Workflow as XmlNode | undefined;
  if (!wf || typeof wf !== 'object') throw new SfError(400, 'INVALID_INPUT', `workflow ${object}: no <Workflow> element`);
  for (const key of Object.keys(wf)) if (key !== 'outboundMessages') refuse(`workflow ${object}`, key);
  return ((wf.outboundMessages ?? []) as XmlNode[]).map((om) => ({
    name: text(om.fullName),
    object,
    endpointUrl: text(om.endpointUrl),
    // The Id always travels first; the simulator's definition lists the other fields.
    fields: ((om.fields ?? []) as unknown[]).map(text).filter((f) => f !== 'Id'),
    includeSessionId: text(om.includeSessionId) === 'true',
    ...(om.integrationUser ? { integrationUser: text(om.integrationUser) } : {}),
    ...(om.apiVersion ? { apiVersion: text(om.apiVersion) } : {}),
  }));
}
