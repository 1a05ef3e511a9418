import { compileEntry, OMIT, type CompiledEntry } from './entry-compiler';
import { makeGetter, checkSourcePath } from './field-path';
import { EventRulesFileSchema, type Condition } from './mapping.schema';
import { parseSource, zodToIssues, type CompileOptions } from './mapping-compiler';
import { MappingError, type FieldNationWebhookBody, type MappingIssue } from './mapping-types';
import { isStatusEvent, statusRank } from './status-rank';
import { truncateUtf8 } from './utf8';

export type SalesforceValue = string | number | boolean | null;

export interface SalesforceChanges {
  /** Field API name → value for the record the work order belongs to. */
  fields: Record<string, SalesforceValue>;
  /** CaseComment to create; the body is at most 4,000 UTF-8 bytes. */
  comment?: { body: string; isPublished: boolean };
  /** Lifecycle rank of a status event (see statusRank); undefined for other events. */
  statusRank?: number;
  /** The subset of `fields` that carries the status: drop these when the event is older than the status applied. */
  statusFields?: string[];
  /** Names of the rules that matched, in order (for the audit timeline). */
  rules?: string[];
}

export interface CompiledEventRules {
  object: string;
  /** Null when no rule matches the event. Throws MappingError when a matching rule fails. */
  apply(event: FieldNationWebhookBody): Promise<SalesforceChanges | null>;
  /** Event-name patterns the rules listen to (for webhook subscription set-up). */
  events: string[];
  /** Whether some rule listens to this event name (patterns as in `on`). */
  listensTo(eventName: string): boolean;
  file?: string;
}

const COMMENT_MAX_BYTES = 4000;

function compilePattern(pattern: string): (name: string) => boolean {
  if (!pattern.includes('*')) return (name) => name === pattern;
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^.]*')}$`,
  );
  return (name) => re.test(name);
}

function compileCondition(path: string, c: Condition, issues: MappingIssue[], where: string): ((body: unknown) => boolean) | undefined {
  const bad = checkSourcePath(path, 'data');
  if (bad) {
    issues.push({ target: where, message: `when: ${bad}` });
    return undefined;
  }
  const get = makeGetter(path);
  // Ids arrive as numbers in one payload and strings in another (reference §8.4): compare as text.
  const same = (a: unknown, b: unknown) => a === b || (a != null && b != null && String(a) === String(b));
  if (c === null || typeof c !== 'object') return (body) => same(get(body), c);
  const checks: ((v: unknown) => boolean)[] = [];
  if (c.equals !== undefined) checks.push((v) => same(v, c.equals));
  if (c.not !== undefined) checks.push((v) => !same(v, c.not));
  if (c.in) checks.push((v) => c.in!.some((x) => same(v, x)));
  if (c.notIn) checks.push((v) => !c.notIn!.some((x) => same(v, x)));
  if (c.exists !== undefined) checks.push((v) => (v != null && v !== '') === c.exists);
  if (c.matches !== undefined) {
    let re: RegExp;
    try {
      re = new RegExp(c.matches);
    } catch (err) {
      issues.push({ target: where, message: `when.${path}.matches: ${(err as Error).message}` });
      return undefined;
    }
    checks.push((v) => v != null && re.test(String(v)));
  }
  return (body) => {
    const v = get(body);
    return checks.every((check) => check(v));
  };
}

interface CompiledRule {
  name: string;
  matches: (name: string) => boolean;
  conditions: ((body: unknown) => boolean)[];
  fields: { name: string; entry: CompiledEntry }[];
  comment?: { entry: CompiledEntry; isPublished: boolean; maxBytes: number };
  statusRank?: number;
  stop: boolean;
}

export function compileEventRules(source: string | object, options: CompileOptions = {}): CompiledEventRules {
  const file = options.file;
  const raw = parseSource(source, file);
  const parsed = EventRulesFileSchema.safeParse(raw);
  if (!parsed.success) throw new MappingError(zodToIssues(parsed.error, []), file);
  const spec = parsed.data;
  const issues: MappingIssue[] = [];
  const rules: CompiledRule[] = [];

  spec.rules.forEach((r, i) => {
    const name = r.name ?? `rules[${i}]`;
    const ctx = { kind: 'data' as const, reads: new Set<string>(), issues };
    const patterns = (Array.isArray(r.on) ? r.on : [r.on]).map(compilePattern);
    const conditions = Object.entries(r.when ?? {})
      .map(([path, c]) => compileCondition(path, c, issues, name))
      .filter((x): x is (body: unknown) => boolean => x !== undefined);
    const fields: CompiledRule['fields'] = [];
    for (const [field, entrySpec] of Object.entries(r.fields ?? {})) {
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(field)) {
        issues.push({ target: `${name}.fields.${field}`, message: 'not a Salesforce field API name' });
        continue;
      }
      const entry = compileEntry(entrySpec, `${name}.fields.${field}`, ctx);
      if (entry) fields.push({ name: field, entry });
    }
    let comment: CompiledRule['comment'];
    if (r.comment) {
      const { isPublished, maxBytes, ...body } = r.comment;
      const entry = compileEntry(body, `${name}.comment`, ctx);
      if (entry) comment = { entry, isPublished: isPublished ?? false, maxBytes: maxBytes ?? COMMENT_MAX_BYTES };
    }
    if (!r.fields && !r.comment) issues.push({ target: name, message: 'a rule needs fields, a comment, or both' });
    rules.push({
      name,
      matches: (n) => patterns.some((p) => p(n)),
      conditions,
      fields,
      comment,
      statusRank: r.statusRank,
      stop: r.stop === true,
    });
  });
  if (issues.length) throw new MappingError(issues, file);
  const declaredStatusFields = spec.statusFields;

  async function apply(event: FieldNationWebhookBody): Promise<SalesforceChanges | null> {
    const eventName = event?.event?.name;
    if (typeof eventName !== 'string')
      throw new MappingError([{ target: '(event)', message: 'webhook body has no event.name', input: event }], file);
    const problems: MappingIssue[] = [];
    const fields: Record<string, SalesforceValue> = {};
    const comments: string[] = [];
    let isPublished = false;
    let maxBytes = COMMENT_MAX_BYTES;
    let rank: number | undefined = isStatusEvent(eventName) ? statusRank(eventName) : undefined;
    const matched: string[] = [];

    for (const rule of rules) {
      if (!rule.matches(eventName) || !rule.conditions.every((c) => c(event))) continue;
      matched.push(rule.name);
      if (rule.statusRank !== undefined) rank = Math.max(rank ?? -Infinity, rule.statusRank);
      const values = await Promise.all(rule.fields.map((f) => f.entry.run(event, problems)));
      rule.fields.forEach((f, i) => {
        const v = values[i];
        if (v === OMIT) return;
        if (v !== null && typeof v === 'object') {
          problems.push({
            target: f.entry.target,
            message: 'a Salesforce field value must be text, a number, true/false or null',
            input: v,
          });
          return;
        }
        fields[f.name] = v as SalesforceValue;
      });
      if (rule.comment) {
        const body = await rule.comment.entry.run(event, problems);
        if (body !== OMIT && body != null && String(body).trim() !== '') {
          comments.push(String(body).trim());
          isPublished ||= rule.comment.isPublished;
          maxBytes = Math.min(maxBytes, rule.comment.maxBytes);
        }
      }
      if (rule.stop) break;
    }
    if (problems.length) throw new MappingError(problems, file);
    if (matched.length === 0) return null;

    const changes: SalesforceChanges = { fields, rules: matched };
    if (comments.length) changes.comment = { body: truncateUtf8(comments.join('\n\n'), maxBytes), isPublished };
    if (rank !== undefined) {
      changes.statusRank = rank;
      const names = Object.keys(fields);
      changes.statusFields = declaredStatusFields ? names.filter((n) => declaredStatusFields.includes(n)) : names;
    }
    return changes;
  }

  return {
    object: spec.object,
    apply,
    events: [...new Set(spec.rules.flatMap((r) => (Array.isArray(r.on) ? r.on : [r.on])))],
    listensTo: (eventName) => rules.some((r) => r.matches(eventName)),
    ...(file ? { file } : {}),
  };
}

/** A `workorder.message_posted` message, whatever layout it arrived in. */
export interface WebhookMessage {
  id?: string;
  text?: string;
  authorId?: number;
  authorName?: string;
  parentId?: string;
  /** Where it was found (for the timeline): e.g. `event.params.message`. */
  source: string;
}

const obj = (v: unknown): Record<string, unknown> | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
const idText = (v: unknown) => ((typeof v === 'string' && v !== '') || typeof v === 'number' ? String(v) : undefined);
const textOf = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Reads one candidate layout: a REST-v2-like message object, or the same keys spread over params. */
function messageFrom(o: Record<string, unknown>, source: string): WebhookMessage | undefined {
  const nested = obj(o.message);
  if (nested) {
    const inner = messageFrom(nested, `${source}.message`);
    if (inner?.text !== undefined) {
      return { ...inner, id: inner.id ?? idText(o.message_id ?? o.msg_id), authorId: inner.authorId ?? messageFrom(o, source)?.authorId };
    }
  }
  const text = textOf(o.message) ?? textOf(o.text) ?? textOf(o.body) ?? textOf(o.content);
  const author = obj(o.from) ?? obj(o.author) ?? obj(o.user) ?? obj(o.created_by);
  const authorId = Number(author?.id ?? o.author_id ?? o.user_id ?? o.from_id);
  const id = idText(o.msg_id ?? o.message_id ?? (text !== undefined ? o.id : undefined));
  if (text === undefined && id === undefined) return undefined;
  const name = author?.name ?? [author?.first_name, author?.last_name].filter(Boolean).join(' ');
  return {
    id,
    text,
    authorId: Number.isInteger(authorId) && authorId > 0 ? authorId : undefined,
    authorName: typeof name === 'string' && name ? name : undefined,
    parentId: idText(o.parent_id),
    source,
  };
}

/**
 * The message of a `workorder.message_posted` body. Field Nation documents no layout for it (the v3
 * events page lists the WorkOrder model only; the legacy page says the Message object is included), so
 * every plausible one is read, the most specific first: `event.params.message` (object), the message
 * keys in `event.params`, a top-level `message` beside `workorder`, the draft docs' `data.message`.
 * Undefined when none carries a text or an id; a result without `text` needs the REST fallback.
 */
export function readWebhookMessage(body: unknown): WebhookMessage | undefined {
  const b = obj(body) ?? {};
  const params = obj(obj(b.event)?.params);
  const candidates: Array<[Record<string, unknown> | undefined, string]> = [
    [obj(params?.message), 'event.params.message'],
    [params, 'event.params'],
    [obj(b.message), 'message'],
    [obj(obj(b.data)?.message), 'data.message'],
  ];
  let partial: WebhookMessage | undefined;
  for (const [o, source] of candidates) {
    if (!o) continue;
    const m = messageFrom(o, source);
    if (m?.text !== undefined) return { ...m, id: m.id ?? partial?.id, authorId: m.authorId ?? partial?.authorId };
    partial ??= m;
  }
  return partial;
}

/**
 * The body the event rules see: the message put where rule files read it, `event.params.message` as a
 * REST v2 message (`msg_id`, `message`, `from.id`, `from.name`, `parent_id`), whatever layout it came in.
 */
export function withWebhookMessage(body: FieldNationWebhookBody, m: WebhookMessage): FieldNationWebhookBody {
  const event = (body.event ?? {}) as { name?: string; params?: Record<string, unknown> };
  return {
    ...body,
    event: {
      ...event,
      params: {
        ...(event.params ?? {}),
        message: {
          msg_id: m.id,
          message: m.text,
          from: { id: m.authorId, name: m.authorName },
          ...(m.parentId ? { parent_id: m.parentId } : {}),
        },
      },
    },
  } as FieldNationWebhookBody;
}
