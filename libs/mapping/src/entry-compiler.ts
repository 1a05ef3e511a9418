import { z } from 'zod';
import {
  checkTargetPath,
  findConflict,
  getterSource,
  makeGetter,
  makeProjector,
  makeSetter,
  type PathKind,
  type Setter,
} from './field-path';
import { jsonnetReads, probeJsonata, probeJsonnet, undeclared } from './expression-reads';
import { compileJsonata } from './jsonata-runner';
import { checkJsonnet, prepareJsonnet, runJsonnet } from './jsonnet-runner';
import { EntryObjectSchema, SOURCE_KEYS, type EmptyPolicy, type EntrySpec, type NullPolicy } from './mapping.schema';
import { isEmpty } from './empty';
import { EntryFailure, type MappingIssue } from './mapping-types';
import { addRead, compileStepList, keepsNonBlank, type CompileContext, type StepFn } from './transforms';

/** Returned by an entry whose value is to be left out of the output. */
export const OMIT: unique symbol = Symbol('omit');

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
  /** Set when the entry gives the same result for every record (a `value:` without transforms or guard). */
  constant?: { value: unknown };
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
  /**
   * Checks that need an evaluation (a JSONata expression whose reads are not all visible in its
   * AST; JSONata evaluates asynchronously): run by CompiledMapping.checkExpressions.
   */
  probes?: (() => Promise<MappingIssue[]>)[];
}

/** An expression reading fields its `reads:` does not declare: at run time they would read null. */
function undeclaredIssue(target: string, kind: string, missing: string[], declared: string[], probed = false): MappingIssue {
  return {
    target,
    message: `${kind} reads ${missing.join(', ')}${probed ? ' (seen when evaluated against the declared fields)' : ''}, which "reads:" does not declare: the expression gets only the declared fields, so ${missing.length > 1 ? 'these would' : 'it would'} always be null`,
    fix: `add ${missing.map((m) => `"${m}"`).join(', ')} to reads: (now [${declared.join(', ')}]), or correct the field name`,
  };
}

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
    ctx.issues.push({
      target,
      message: `must be a field path or an entry ({ from: ... }, { value: ... }, ...), got ${JSON.stringify(raw)}`,
    });
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
      message:
        sources.length === 0
          ? `needs one source: ${SOURCE_KEYS.join(', ')}`
          : `has several sources (${sources.join(', ')}); use exactly one`,
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
  let code: SourceCode | undefined;
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
      code = templateCode(e.template!, sourceCtx);
      read = sourceFunction(code, fnName('template', target));
      break;
    case 'concat':
      code = concatCode(e.concat!, sourceCtx);
      read = sourceFunction(code, fnName('concat', target));
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
          ctx.issues.push({
            target: path,
            message: `createOnly inside a list element cannot be honoured (the list is sent whole on update); mark "${target}" createOnly instead`,
          });
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
        ctx.issues.push({
          target,
          message: `${source} entries must list the Salesforce fields they read in "reads:" (the fetcher queries exactly those)`,
        });
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
        const expr = compiled;
        if (ctx.kind === 'salesforce') {
          const missing = undeclared(compiled.reads.paths, declared!);
          if (missing.length) ctx.issues.push(undeclaredIssue(target, 'jsonata', missing, declared!));
          if (compiled.reads.dynamic && ctx.probes) {
            const list = declared!;
            ctx.probes.push(async () => {
              const asked = await probeJsonata((input) => expr.evaluate(input), list);
              return asked.length ? [undeclaredIssue(target, 'jsonata', asked, list, true)] : [];
            });
          }
        }
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
        if (ctx.kind === 'salesforce') {
          const stat = jsonnetReads(script);
          let missing = undeclared(stat.paths, declared!);
          let probed = false;
          if (!missing.length && stat.dynamic) {
            missing = probeJsonnet(script, declared!);
            probed = true;
          }
          if (missing.length) {
            ctx.issues.push(undeclaredIssue(target, 'jsonnet', missing, declared!, probed));
            break;
          }
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

  const stepList = e.transform ? compileStepList(e.transform, stepCtx) : [];
  const steps = stepList.length ? stepList : undefined;

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

  const finish = generateFinish({
    target,
    onNull,
    onEmpty,
    steps,
    fallback,
    // A `fields:` object is null when nothing was set, never empty.
    checkEmpty: onEmpty !== 'keep' && source !== 'fields',
    // Steps such as trim or a date cannot empty a value that was not (see keepsNonBlank); scalar input:
    // text from a template or concat, a Salesforce field (never a list), a static non-object.
    checkEmptyAfterSteps:
      onEmpty !== 'keep' &&
      !(
        e.transform &&
        keepsNonBlank(
          e.transform,
          source === 'template' ||
            source === 'concat' ||
            (source === 'from' && ctx.kind === 'salesforce') ||
            (source === 'value' && (e.value === null || typeof e.value !== 'object')),
        )
      ),
    nullReason,
  });

  const fail = (err: unknown, issues: MappingIssue[]): typeof OMIT => {
    const f = err instanceof EntryFailure ? err : new EntryFailure((err as Error).message);
    issues.push({ target, message: f.message, ...(f.input !== undefined ? { input: f.input } : {}) });
    return OMIT;
  };

  let run: CompiledEntry['run'];
  if (asyncRead) {
    const ar = asyncRead;
    const guard = e.when === undefined ? undefined : makeGetter(e.when);
    const unguarded: CompiledEntry['run'] = (r, issues) =>
      ar(r, issues).then(
        (v) => finish(v, r, issues),
        (err) => fail(err, issues),
      );
    run = guard ? (r, issues) => (isAbsent(guard(r)) ? OMIT : unguarded(r, issues)) : unguarded;
  } else {
    run = generateRun({ target, source, code, path: e.from, read: read!, steps, when: e.when, finish, fail });
  }

  const inline = !steps && source === 'from' && e.when === undefined ? { path: e.from!, finish } : undefined;
  let constant: { value: unknown } | undefined;
  if (source === 'value' && !steps && e.when === undefined) {
    // Settled once here unless the policy has to report a problem for every record.
    const probe: MappingIssue[] = [];
    const value = run(undefined, probe);
    if (probe.length === 0) constant = { value };
  }
  const createOnly = e.createOnly === true ? [target] : nestedCreateOnly;
  return {
    target,
    async: Boolean(asyncRead),
    run,
    writes,
    createOnly,
    hasExpressions,
    ...(inline ? { inline } : {}),
    ...(constant ? { constant } : {}),
  };
}

/** A `when:` guard's value that leaves the entry out. */
const isAbsent = (g: unknown): boolean => g == null || g === false || isEmpty(g);

/** The first character decides for most text: printable ASCII means not empty (see isBlank). */
const FAST_COPY = (v: string) =>
  `typeof ${v} === 'number' || typeof ${v} === 'boolean' || (typeof ${v} === 'string' && ${v}.length !== 0 && ${v}.charCodeAt(0) > 32 && ${v}.charCodeAt(0) < 128)`;

/** isEmpty(v), without the call for the common cases: a number or boolean, text starting with printable ASCII. */
const MAYBE_EMPTY = (v: string) =>
  `(typeof ${v} === 'string' ? !(${v}.length !== 0 && ${v}.charCodeAt(0) > 32 && ${v}.charCodeAt(0) < 128) && isEmpty(${v}) : typeof ${v} === 'object' && isEmpty(${v}))`;

/** `known`: the value is certainly not empty (see SourceCode). */
type Finish = (v: unknown, r: unknown, issues: MappingIssue[], known?: boolean) => unknown;

interface FinishSpec {
  target: string;
  onNull: NullPolicy;
  onEmpty: EmptyPolicy;
  steps: StepFn[] | undefined;
  fallback: unknown;
  checkEmpty: boolean;
  checkEmptyAfterSteps: boolean;
  nullReason: ((r: unknown) => string) | undefined;
}

/**
 * The null policy, transforms and empty policy of one entry, generated as its own function with the
 * policies written in. Every entry gets its own function (and so its own type feedback in V8): a
 * closure shared by all entries sees every entry's transform at one call site and stays slow.
 */
function generateFinish(f: FinishSpec): Finish {
  const { target, nullReason } = f;
  const missing = (why: string, issues: MappingIssue[]): typeof OMIT => {
    issues.push({ target, message: `required value is missing: ${why}` });
    return OMIT;
  };
  const helpers = {
    OMIT,
    isEmpty,
    ...Object.fromEntries((f.steps ?? []).map((fn, i) => [`s${i}`, fn])),
    fallback: f.fallback,
    nullFailed: (r: unknown, issues: MappingIssue[]) => missing(nullReason ? nullReason(r) : 'the value is null', issues),
    emptyFailed: (issues: MappingIssue[]) => missing('the value is empty', issues),
    noValue: (issues: MappingIssue[]) => missing('a transform produced no value', issues),
    stepFailed: (err: unknown, v: unknown, issues: MappingIssue[]) => {
      const x = err instanceof EntryFailure ? err : new EntryFailure((err as Error).message, v);
      issues.push({ target, message: x.message, input: x.input === undefined ? v : x.input });
      return OMIT;
    },
  };
  const settle = (policy: EmptyPolicy, failed: string): string => {
    switch (policy) {
      case 'omit':
        return 'return OMIT;';
      case 'null':
        return 'return null;';
      case 'default':
        return 'return fallback;';
      case 'keep':
        return 'return v;';
      case 'fail':
        return `return ${failed};`;
    }
  };
  const lines = [`if (v === null || v === undefined) { ${settle(f.onNull, 'nullFailed(r, issues)')} }`];
  if (f.checkEmpty) lines.push(`if (!known && ${MAYBE_EMPTY('v')}) { ${settle(f.onEmpty, 'emptyFailed(issues)')} }`);
  if (f.steps) {
    // Each step called from here (not through a shared chain function) keeps every call site
    // monomorphic; a null result skips the remaining steps.
    const calls = f.steps.map((_, i) => (i === 0 ? 'v = s0(v, r);' : `if (v !== null && v !== undefined) v = s${i}(v, r);`));
    lines.push(
      'const input = v;',
      `try { ${calls.join(' ')} } catch (err) { return stepFailed(err, input, issues); }`,
      `if (v === null || v === undefined) { ${settle(f.onNull, 'noValue(issues)')} }`,
    );
    if (f.checkEmptyAfterSteps) lines.push(`if (${MAYBE_EMPTY('v')}) { ${settle(f.onEmpty, 'emptyFailed(issues)')} }`);
  }
  lines.push('return v;');
  return instantiate(helpers, `function ${fnName('finish', target)}(v, r, issues, known) {\n${lines.join('\n')}\n}`) as Finish;
}

interface RunSpec {
  target: string;
  code: SourceCode | undefined;
  source: (typeof SOURCE_KEYS)[number];
  path: string | undefined;
  read: (r: unknown, issues: MappingIssue[]) => unknown;
  steps: StepFn[] | undefined;
  when: string | undefined;
  finish: Finish;
  fail: (err: unknown, issues: MappingIssue[]) => typeof OMIT;
}

/** The whole synchronous entry as one generated function: guard, read (inlined for a field), policies. */
function generateRun(s: RunSpec): CompiledEntry['run'] {
  const scope: Record<string, unknown> = { OMIT, isEmpty, read: s.read, finish: s.finish, fail: s.fail };
  const lines: string[] = [];
  if (s.when !== undefined)
    lines.push('{', getterSource(s.when, 'g'), `if (g === null || g === false || ${MAYBE_EMPTY('g')}) return OMIT;`, '}');
  if (s.source === 'from') {
    lines.push(getterSource(s.path!, 'v'));
    // A plain copy of a word or a number needs no policy: the hot path of declarative mappings.
    if (!s.steps) lines.push(`if (${FAST_COPY('v')}) return v;`);
    lines.push('return finish(v, r, issues, false);');
  } else if (s.code) {
    Object.assign(scope, s.code.scope);
    // Text building can only throw on odd input (a BigInt); it still becomes this entry's issue.
    lines.push(
      'let v, known;',
      'try {',
      ...s.code.lines,
      '} catch (err) { return fail(err, issues); }',
      'return finish(v, r, issues, known);',
    );
  } else {
    // Sources other than a field are user text and expressions: a throw becomes this entry's issue.
    lines.push('let v;', 'try { v = read(r, issues); } catch (err) { return fail(err, issues); }', 'return finish(v, r, issues, false);');
  }
  return instantiate(scope, `function ${fnName('run', s.target)}(r, issues) {\n${lines.join('\n')}\n}`) as CompiledEntry['run'];
}

/** A generated function's name: the entry's target shows in stack traces and CPU profiles. */
const fnName = (kind: string, target: string) => `${kind}_${target.replace(/[^A-Za-z0-9_]/g, '_')}`;

/** Compile `fn` (function source) with `scope`'s values as its free variables. */
function instantiate(scope: Record<string, unknown>, fn: string): unknown {
  const names = Object.keys(scope);
  return new Function(...names, `return ${fn};`)(...names.map((n) => scope[n]));
}

/** `{{ path }}` placeholders; a null value renders as nothing, an object as JSON. */
const PLACEHOLDER = /\{\{\s*([^}\s]+)\s*\}\}/g;

/**
 * Statements setting `v` to a source's value and `known` to true when that is certainly not empty (a
 * visible literal or part went into it), so the empty check need not read the new string. Both are
 * declared by the caller.
 */
interface SourceCode {
  scope: Record<string, unknown>;
  lines: string[];
}

/** `x` (a part read from the record) is a number, a boolean, or text starting with printable ASCII. */
const VISIBLE = (x: string) =>
  `(typeof ${x} === 'string' ? ${x}.length !== 0 && ${x}.charCodeAt(0) > 32 && ${x}.charCodeAt(0) < 128 : typeof ${x} === 'number' || typeof ${x} === 'boolean')`;
const visibleText = (t: string) => !isEmpty(t);

function templateCode(template: string, ctx: CompileContext): SourceCode {
  const literals: string[] = [];
  const paths: string[] = [];
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    literals.push(template.slice(last, m.index));
    addRead(ctx, m[1]!, 'template');
    paths.push(m[1]!);
    last = m.index + m[0].length;
  }
  literals.push(template.slice(last));
  if (/\{\{|\}\}/.test(literals.join(''))) ctx.issues.push({ target: ctx.target, message: 'template: unbalanced {{ }} placeholder' });
  const lines = ['v = l0;', `known = ${literals.some(visibleText)};`];
  paths.forEach((p, i) => {
    lines.push(
      '{',
      getterSource(p, 'x'),
      `if (x !== null) { if (!known) known = ${VISIBLE('x')}; v += typeof x === 'object' ? JSON.stringify(x) : String(x); }`,
      '}',
      `v += l${i + 1};`,
    );
  });
  return { scope: Object.fromEntries(literals.map((l, i) => [`l${i}`, l])), lines };
}

function concatCode(c: NonNullable<EntrySpec['concat']>, ctx: CompileContext): SourceCode {
  const scope: Record<string, unknown> = { sep: c.separator ?? '' };
  const lines = ['v = null;', 'known = false;'];
  c.parts.forEach((p, i) => {
    if (typeof p === 'string') {
      addRead(ctx, p, 'concat');
      lines.push('{', getterSource(p, 'x'));
      lines.push(
        `if (x !== null && x !== '') { if (!known) known = ${VISIBLE('x')}; const s = String(x); v = v === null ? s : v + sep + s; }`,
        '}',
      );
    } else {
      const literal = p.value == null || p.value === '' ? undefined : String(p.value);
      if (literal === undefined) return;
      lines.push(`v = v === null ? p${i}s : v + sep + p${i}s;`);
      scope[`p${i}s`] = literal;
      if (visibleText(literal)) lines.push('known = true;');
    }
  });
  return { scope, lines };
}

/** A source's code as a function of the record (what `read` is for other sources). */
function sourceFunction(code: SourceCode, name: string): (r: unknown) => unknown {
  return instantiate(code.scope, `function ${name}(r) {\nlet v, known;\n${code.lines.join('\n')}\nreturn v;\n}`) as (r: unknown) => unknown;
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
    ctx.issues.push({
      target: prefix ? `${prefix}.${b}` : b,
      message: `conflicts with target "${a}": one path cannot be both a value and contain another`,
    });
  }
  if (ctx.issues.length > before) return undefined;

  const n = entries.length;
  const runs = entries.map((e) => e.run);
  const relativeTargets = targets.filter((t) => !checkTargetPath(t));
  const runSync = entries.some((e) => e.async) ? () => null : generateBuilder(entries, relativeTargets, prefix);
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
 * getter/setter closures (measured faster on the example mapping). Only validated identifiers (target and
 * field path segments) and JSON-quoted keys reach the source text; values are passed as arguments.
 */
function generateBuilder(entries: CompiledEntry[], targets: string[], prefix: string): Builder {
  const names: string[] = ['OMIT'];
  const args: unknown[] = [OMIT];
  const lines: string[] = ['const out = {};', 'let any = false;'];
  const key = (s: string) => JSON.stringify(s);
  entries.forEach((e, i) => {
    const v = `v${i}`;
    const segments = targets[i]!.split('.');
    let lhs = 'out';
    for (const seg of segments.slice(0, -1)) lhs = `(${lhs}[${key(seg)}] ??= {})`;
    const store = `any = true; ${lhs}[${key(segments.at(-1)!)}] = ${v};`;
    if (e.constant) {
      if (e.constant.value === OMIT) return;
      names.push(`k${i}`);
      args.push(e.constant.value);
      lines.push(`const ${v} = k${i};`, store);
      return;
    }
    if (e.inline) {
      lines.push(getterSource(e.inline.path, v), `if (!(${FAST_COPY(v)})) ${v} = f${i}(${v}, r, issues);`);
      names.push(`f${i}`);
      args.push(e.inline.finish);
    } else {
      lines.push(`const ${v} = e${i}(r, issues);`);
      names.push(`e${i}`);
      args.push(e.run);
    }
    lines.push(`if (${v} !== OMIT) { ${store} }`);
  });
  lines.push('return any ? out : null;');
  const factory = new Function(...names, `return function ${fnName('build', prefix)}(r, issues) {\n${lines.join('\n')}\n};`) as (
    ...a: unknown[]
  ) => Builder;
  return factory(...args);
}
