import { z } from 'zod';
import { checkTargetPath, findConflict, makeGetter, makeProjector, makeSetter, type Getter, type PathKind, type Setter } from './field-path';
import { compileJsonata } from './jsonata-runner';
import { checkJsonnet, prepareJsonnet, runJsonnet } from './jsonnet-runner';
import { EntryObjectSchema, SOURCE_KEYS, type EmptyPolicy, type EntrySpec, type NullPolicy } from './mapping.schema';
import { EntryFailure, type MappingIssue } from './mapping-types';
import { addRead, compileSteps, type CompileContext, type StepFn } from './transforms';

/** Returned by an entry whose value is to be left out of the output. */
export const OMIT: unique symbol = Symbol('omit');
export type Produced = unknown;

/**
 * One compiled entry. `run` returns the value (or OMIT) synchronously when `async` is false, else a
 * Promise of it. Problems are pushed onto `issues` rather than thrown, so one record reports all of
 * its problems at once.
 */
export interface CompiledEntry {
  target: string;
  async: boolean;
  run(record: unknown, issues: MappingIssue[]): unknown;
  /** Target paths written (nested `fields:` entries expanded). */
  writes: string[];
  /**
   * Set for a plain field copy (`from` without transforms or guard): the object builder inlines the
   * read and calls `finish` only for values that may be null or empty.
   */
  inline?: { path: string; finish: (v: unknown, r: unknown, issues: MappingIssue[]) => unknown };
  /**
   * Create-only target paths: the entry's own target when it is marked, else the create-only paths of
   * its nested `fields:` entries, so minimalUpdate can drop them however deep they are.
   */
  createOnly: string[];
  hasExpressions: boolean;
}

export interface EntryContext {
  kind: PathKind;
  reads: Set<string>;
  issues: MappingIssue[];
}

/**
 * Whitespace as String.prototype.trim sees it (plus the other C0 controls), so "empty" means the same
 * thing as a `trim` step producing "". Characters from U+0080 on are rare in a value's first position,
 * which is why the fast paths below only look at ASCII.
 */
const isBlank = (c: number): boolean =>
  c <= 32 ||
  (c >= 0x80 &&
    (c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff));

export const isEmpty = (v: unknown): boolean => {
  if (typeof v === 'string') {
    // Whitespace-only is empty; scanning avoids the copy trim() makes.
    for (let i = 0; i < v.length; i++) if (!isBlank(v.charCodeAt(i))) return false;
    return true;
  }
  if (Array.isArray(v)) return v.length === 0;
  if (v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const _ in v as object) return false;
    return true;
  }
  return false;
};

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v as object)) deepFreeze(x);
  }
  return v;
}

function zodIssues(error: z.ZodError, target: string): MappingIssue[] {
  return error.issues.map((i) => ({
    target,
    message: `${i.path.length ? `${i.path.map(String).join('.')}: ` : ''}${i.message}`,
  }));
}

/** Human description of why a source path read null: which relationship level was null. */
function whyNull(record: unknown, path: string): string {
  const segments = path.split('.');
  let cur: unknown = record;
  for (let i = 0; i < segments.length; i++) {
    if (cur == null || typeof cur !== 'object') return `${segments.slice(0, i).join('.')} is null`;
    cur = (cur as Record<string, unknown>)[segments[i]!];
  }
  return `${path} is ${cur === undefined ? 'missing' : cur === null ? 'null' : 'empty'}`;
}

export function compileEntry(raw: unknown, target: string, ctx: EntryContext): CompiledEntry | undefined {
  if (typeof raw !== 'string' && (raw === null || typeof raw !== 'object' || Array.isArray(raw))) {
    ctx.issues.push({ target, message: `must be a field path or an entry ({ from: ... }, { value: ... }, ...), got ${JSON.stringify(raw)}` });
    return undefined;
  }
  const spec: EntrySpec = typeof raw === 'string' ? { from: raw } : (raw as EntrySpec);
  const parsed = EntryObjectSchema.safeParse(spec);
  if (!parsed.success) {
    ctx.issues.push(...zodIssues(parsed.error, target));
    return undefined;
  }
  const e = spec;
  const sources = SOURCE_KEYS.filter((k) => k in e);
  if (sources.length !== 1) {
    ctx.issues.push({
      target,
      message: sources.length === 0 ? `needs one source: ${SOURCE_KEYS.join(', ')}` : `has several sources (${sources.join(', ')}); use exactly one`,
    });
    return undefined;
  }
  const source = sources[0]!;
  const before = ctx.issues.length;
  const stepCtx: CompileContext = { kind: ctx.kind, reads: ctx.reads, issues: ctx.issues, target };
  const local = new Set<string>();
  // Paths of this entry are collected separately first so nested entries can be checked too.
  const sourceCtx: CompileContext = { ...stepCtx, reads: local };

  let read: ((r: unknown, issues: MappingIssue[]) => unknown) | undefined;
  let asyncRead: ((r: unknown, issues: MappingIssue[]) => Promise<unknown>) | undefined;
  let nullReason: ((r: unknown) => string) | undefined;
  let writes = [target];
  let nestedCreateOnly: string[] = [];
  let hasExpressions = false;

  switch (source) {
    case 'from': {
      const path = e.from!;
      if (addRead(sourceCtx, path, 'from')) {
        const get = makeGetter(path);
        read = get;
        nullReason = (r) => whyNull(r, path);
      }
      break;
    }
    case 'value': {
      const constant = deepFreeze(e.value);
      read = () => constant;
      nullReason = () => 'the static value is null';
      break;
    }
    case 'template':
      read = compileTemplate(e.template!, sourceCtx);
      break;
    case 'concat':
      read = compileConcat(e.concat!, sourceCtx);
      break;
    case 'fields': {
      const built = compileObject(e.fields as Record<string, unknown>, target, { ...ctx, reads: local });
      if (built) {
        writes = built.writes;
        nestedCreateOnly = built.createOnly;
        hasExpressions = built.hasExpressions;
        if (built.async) asyncRead = built.runAsync;
        else read = built.runSync;
      }
      break;
    }
    case 'list': {
      const items = (e.list as unknown[]).map((item, i) => compileEntry(item, `${target}[${i}]`, { ...ctx, reads: local }));
      const ok = items.filter((x): x is CompiledEntry => x !== undefined);
      // The list is sent whole on update (Field Nation replaces it), so part of an element cannot be
      // held back; saying so beats silently sending it.
      for (const x of ok) {
        for (const path of x.createOnly) {
          ctx.issues.push({ target: path, message: `createOnly inside a list element cannot be honoured (the list is sent whole on update); mark "${target}" createOnly instead` });
        }
      }
      hasExpressions = ok.some((x) => x.hasExpressions);
      if (ok.some((x) => x.async)) {
        asyncRead = async (r, issues) => {
          const values = await Promise.all(ok.map((x) => x.run(r, issues)));
          return values.filter((v) => v !== OMIT && v != null);
        };
      } else {
        read = (r, issues) => {
          const out: unknown[] = [];
          for (const x of ok) {
            const v = x.run(r, issues);
            if (v !== OMIT && v != null) out.push(v);
          }
          return out;
        };
      }
      break;
    }
    case 'jsonata':
    case 'jsonnet': {
      hasExpressions = true;
      const declared = e.reads;
      if (ctx.kind === 'salesforce' && (!declared || declared.length === 0)) {
        ctx.issues.push({ target, message: `${source} entries must list the Salesforce fields they read in "reads:" (the fetcher queries exactly those)` });
        break;
      }
      for (const p of declared ?? []) addRead(sourceCtx, p, 'reads');
      // Expressions see only what they declared: an undeclared field is absent, in tests and in production alike.
      const project = ctx.kind === 'salesforce' ? makeProjector(declared ?? []) : (r: unknown) => r;
      if (source === 'jsonata') {
        let compiled;
        try {
          compiled = compileJsonata(e.jsonata!);
        } catch (err) {
          const x = err as { message: string; position?: number };
          ctx.issues.push({ target, message: `jsonata: ${x.message}${x.position !== undefined ? ` at position ${x.position}` : ''}` });
          break;
        }
        if (ctx.kind === 'salesforce') {
          const roots = new Set((declared ?? []).map((p) => p.split('.')[0]));
          const undeclared = compiled.paths.filter((p) => !roots.has(p.split('.')[0]));
          if (undeclared.length) ctx.issues.push({ target, message: `jsonata reads ${undeclared.join(', ')} but "reads:" does not declare it` });
        }
        const expr = compiled;
        asyncRead = async (r) => {
          const input = project(r);
          try {
            return await expr.evaluate(input);
          } catch (err) {
            throw new EntryFailure(`jsonata: ${(err as Error).message}`, input);
          }
        };
      } else {
        const script = e.jsonnet!;
        const syntax = checkJsonnet(script);
        if (syntax) {
          ctx.issues.push({ target, message: `jsonnet: ${syntax}` });
          break;
        }
        const prepared = prepareJsonnet(script);
        read = (r) => {
          const input = project(r);
          try {
            return runJsonnet(prepared, input);
          } catch (err) {
            throw new EntryFailure(`jsonnet: ${(err as Error).message}`, input);
          }
        };
      }
      break;
    }
  }
  if (e.reads && source !== 'jsonata' && source !== 'jsonnet') {
    ctx.issues.push({ target, message: '"reads:" is only for jsonata and jsonnet entries (other sources report their reads themselves)' });
  }

  const steps = e.transform ? compileSteps(e.transform, stepCtx) : undefined;

  // Null policy.
  if (e.required && e.onNull && e.onNull !== 'fail') ctx.issues.push({ target, message: `required conflicts with onNull: ${e.onNull}` });
  const onNull: NullPolicy = e.required ? 'fail' : (e.onNull ?? (e.default !== undefined ? 'default' : 'omit'));
  const onEmpty: EmptyPolicy = e.onEmpty ?? onNull;
  if ((onNull === 'default' || onEmpty === 'default') && e.default === undefined) {
    ctx.issues.push({ target, message: 'onNull/onEmpty is "default" but no default is given' });
  }
  const fallback = deepFreeze(e.default);

  if (e.when !== undefined) addRead(sourceCtx, e.when, 'when');
  for (const p of local) ctx.reads.add(p);
  if (ctx.issues.length > before || (!read && !asyncRead)) return undefined;

  const settle = (policy: EmptyPolicy, v: unknown, r: unknown, issues: MappingIssue[], why: () => string): unknown => {
    switch (policy) {
      case 'omit':
        return OMIT;
      case 'null':
        return null;
      case 'default':
        return fallback;
      case 'keep':
        return v;
      case 'fail':
        issues.push({ target, message: `required value is missing: ${why()}` });
        return OMIT;
    }
  };
  const whyNullFor = (r: unknown) => () => (nullReason ? nullReason(r) : 'the value is null');
  const whyEmpty = () => 'the value is empty';

  const finish = (v: unknown, r: unknown, issues: MappingIssue[]): unknown => {
    if (v == null) return settle(onNull, v, r, issues, whyNullFor(r));
    if (onEmpty !== 'keep' && isEmpty(v)) return settle(onEmpty, v, r, issues, whyEmpty);
    if (steps) {
      let out: unknown;
      try {
        out = steps(v, r);
      } catch (err) {
        const f = err instanceof EntryFailure ? err : new EntryFailure((err as Error).message, v);
        issues.push({ target, message: f.message, input: f.input === undefined ? v : f.input });
        return OMIT;
      }
      if (out == null) return settle(onNull, out, r, issues, () => 'a transform produced no value');
      if (onEmpty !== 'keep' && isEmpty(out)) return settle(onEmpty, out, r, issues, whyEmpty);
      return out;
    }
    return v;
  };

  const fail = (err: unknown, issues: MappingIssue[]): typeof OMIT => {
    const f = err instanceof EntryFailure ? err : new EntryFailure((err as Error).message);
    issues.push({ target, message: f.message, ...(f.input !== undefined ? { input: f.input } : {}) });
    return OMIT;
  };

  let run: CompiledEntry['run'];
  if (asyncRead) {
    const ar = asyncRead;
    run = (r, issues) =>
      ar(r, issues).then(
        (v) => finish(v, r, issues),
        (err) => fail(err, issues),
      );
  } else if (!steps && source === 'from') {
    // The hot path of declarative mappings: a plain field copy.
    const get = read as Getter;
    run = (r, issues) => {
      const v = get(r);
      // Anything that might be null or empty takes the full path; a word or a number is simply copied.
      // A first character from U+0080 on may be Unicode whitespace (e.g. U+00A0), so it is checked.
      return typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && v.length !== 0 && v.charCodeAt(0) > 32 && v.charCodeAt(0) < 0x80)
        ? v
        : finish(v, r, issues);
    };
  } else {
    const rd = read!;
    run = (r, issues) => {
      let v: unknown;
      try {
        v = rd(r, issues);
      } catch (err) {
        return fail(err, issues);
      }
      return finish(v, r, issues);
    };
  }

  if (e.when !== undefined) {
    const guard = makeGetter(e.when);
    const inner = run;
    run = (r, issues) => {
      const g = guard(r);
      return g == null || g === false || isEmpty(g) ? OMIT : inner(r, issues);
    };
  }

  const inline = !steps && source === 'from' && e.when === undefined ? { path: e.from!, finish } : undefined;
  const createOnly = e.createOnly === true ? [target] : nestedCreateOnly;
  return { target, async: Boolean(asyncRead), run, writes, createOnly, hasExpressions, ...(inline ? { inline } : {}) };
}

/** `{{ path }}` placeholders; a null value renders as nothing. */
const PLACEHOLDER = /\{\{\s*([^}\s]+)\s*\}\}/g;

export function compileTemplate(template: string, ctx: CompileContext): (r: unknown) => string {
  const literals: string[] = [];
  const getters: Getter[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    literals.push(template.slice(last, m.index));
    addRead(ctx, m[1]!, 'template');
    getters.push(makeGetter(m[1]!));
    last = m.index + m[0].length;
  }
  literals.push(template.slice(last));
  if (/\{\{|\}\}/.test(literals.join(''))) ctx.issues.push({ target: ctx.target, message: 'template: unbalanced {{ }} placeholder' });
  return (r) => {
    let out = literals[0]!;
    for (let i = 0; i < getters.length; i++) {
      const v = getters[i]!(r);
      if (v != null) out += typeof v === 'object' ? JSON.stringify(v) : String(v);
      out += literals[i + 1]!;
    }
    return out;
  };
}

function compileConcat(c: NonNullable<EntrySpec['concat']>, ctx: CompileContext): (r: unknown) => string | null {
  const parts: Getter[] = c.parts.map((p) => {
    if (typeof p === 'string') {
      addRead(ctx, p, 'concat');
      return makeGetter(p);
    }
    const v = p.value;
    return () => v;
  });
  const sep = c.separator ?? '';
  return (r) => {
    let out: string | null = null;
    for (const get of parts) {
      const v = get(r);
      if (v == null || v === '') continue;
      const s = String(v);
      out = out === null ? s : out + sep + s;
    }
    return out;
  };
}

export interface CompiledObject {
  entries: CompiledEntry[];
  setters: Setter[];
  writes: string[];
  createOnly: string[];
  async: boolean;
  hasExpressions: boolean;
  runSync(record: unknown, issues: MappingIssue[]): Record<string, unknown> | null;
  runAsync(record: unknown, issues: MappingIssue[]): Promise<Record<string, unknown> | null>;
}

/** A `target → entry` table compiled into one function building the object; null when nothing was set. */
export function compileObject(fields: Record<string, unknown>, prefix: string, ctx: EntryContext): CompiledObject | undefined {
  const entries: CompiledEntry[] = [];
  const setters: Setter[] = [];
  const before = ctx.issues.length;
  const targets = Object.keys(fields);
  for (const t of targets) {
    const full = prefix ? `${prefix}.${t}` : t;
    const bad = checkTargetPath(t);
    if (bad) {
      ctx.issues.push({ target: full, message: bad });
      continue;
    }
    const entry = compileEntry(fields[t]!, full, ctx);
    if (entry) {
      entries.push(entry);
      setters.push(makeSetter(t));
    }
  }
  const conflict = findConflict(targets);
  if (conflict) {
    const [a, b] = conflict;
    ctx.issues.push({ target: prefix ? `${prefix}.${b}` : b, message: `conflicts with target "${a}": one path cannot be both a value and contain another` });
  }
  if (ctx.issues.length > before) return undefined;

  const n = entries.length;
  const runs = entries.map((e) => e.run);
  const relativeTargets = targets.filter((t) => !checkTargetPath(t));
  const runSync = entries.some((e) => e.async) ? () => null : generateBuilder(entries, relativeTargets);
  const runAsync = async (record: unknown, issues: MappingIssue[]): Promise<Record<string, unknown> | null> => {
    const values = await Promise.all(runs.map((run) => run(record, issues)));
    const out: Record<string, unknown> = {};
    let any = false;
    for (let i = 0; i < n; i++) {
      if (values[i] !== OMIT) {
        setters[i]!(out, values[i]);
        any = true;
      }
    }
    return any ? out : null;
  };
  return {
    entries,
    setters,
    writes: entries.flatMap((e) => e.writes),
    createOnly: entries.flatMap((e) => e.createOnly),
    async: entries.some((e) => e.async),
    hasExpressions: entries.some((e) => e.hasExpressions),
    runSync,
    runAsync,
  };
}

type Builder = (record: unknown, issues: MappingIssue[]) => Record<string, unknown> | null;

/**
 * Generate the object builder as straight-line code: every read and every store has a constant
 * property name, so V8 keeps each access site monomorphic instead of going through shared generic
 * getter/setter closures (3× faster on the example mapping). Only validated identifiers (target and
 * field path segments) and JSON-quoted keys reach the source text; values are passed as arguments.
 */
function generateBuilder(entries: CompiledEntry[], targets: string[]): Builder {
  const names: string[] = ['OMIT'];
  const args: unknown[] = [OMIT];
  const lines: string[] = ['const out = {};', 'let any = false;'];
  const key = (s: string) => JSON.stringify(s);
  entries.forEach((e, i) => {
    const v = `v${i}`;
    if (e.inline) {
      const segments = e.inline.path.split('.');
      lines.push(`let ${v} = r[${key(segments[0]!)}];`);
      for (const seg of segments.slice(1)) lines.push(`${v} = ${v} === null || ${v} === undefined || typeof ${v} !== 'object' ? null : ${v}[${key(seg)}];`);
      lines.push(`if (${v} === undefined) ${v} = null;`);
      lines.push(
        `if (!(typeof ${v} === 'number' || typeof ${v} === 'boolean' || (typeof ${v} === 'string' && ${v}.length !== 0 && ${v}.charCodeAt(0) > 32 && ${v}.charCodeAt(0) < 128))) ${v} = f${i}(${v}, r, issues);`,
      );
      names.push(`f${i}`);
      args.push(e.inline.finish);
    } else {
      lines.push(`const ${v} = e${i}(r, issues);`);
      names.push(`e${i}`);
      args.push(e.run);
    }
    const segments = targets[i]!.split('.');
    let lhs = 'out';
    for (const seg of segments.slice(0, -1)) lhs = `(${lhs}[${key(seg)}] ??= {})`;
    lines.push(`if (${v} !== OMIT) { any = true; ${lhs}[${key(segments.at(-1)!)}] = ${v}; }`);
  });
  lines.push('return any ? out : null;');
  const factory = new Function(...names, `return function build(r, issues) {\n${lines.join('\n')}\n};`) as (...a: unknown[]) => Builder;
  return factory(...args);
}
