import { z } from 'zod';
import { convertDate, fastUtcConversion, fixedDurationMs, isValidZone, type DateConversion } from './date-time';
import { isEmpty } from './empty';
import { checkSourcePath, makeGetter, type PathKind } from './field-path';
import { EntryFailure, type MappingIssue } from './mapping-types';

/** A compiled transform step. Never called with null: a null value skips the remaining steps. */
export type StepFn = (value: unknown, record: unknown) => unknown;

export interface CompileContext {
  kind: PathKind;
  /** Source paths read, collected while compiling. */
  reads: Set<string>;
  issues: MappingIssue[];
  /** Target the steps belong to, for error messages. */
  target: string;
}

export function addRead(ctx: CompileContext, path: string, where: string): boolean {
  const problem = checkSourcePath(path, ctx.kind);
  if (problem) {
    ctx.issues.push({ target: ctx.target, message: `${where}: ${problem}` });
    return false;
  }
  ctx.reads.add(path);
  return true;
}

// ── fallback of value and range maps ────────────────────────────────────────────────────────────

const FallbackSchema = z.union([
  z.enum(['keep', 'null', 'fail']),
  z.null(),
  z.number(),
  z.boolean(),
  z.object({ value: z.unknown() }).strict(),
  z.object({ from: z.string().min(1) }).strict(),
]);

type Fallback = (value: unknown, record: unknown) => unknown;

function compileFallback(raw: unknown, ctx: CompileContext, where: string, what: string): Fallback {
  if (raw === undefined || raw === 'fail') {
    return (v) => {
      throw new EntryFailure(`no ${what} for this value and no fallback`, v);
    };
  }
  const parsed = FallbackSchema.safeParse(raw);
  if (!parsed.success) {
    ctx.issues.push({
      target: ctx.target,
      message: `${where}.fallback must be keep, null, fail, a number, { value: ... } or { from: <path> } (to use a text as the fallback write { value: "${String(raw)}" })`,
    });
    return (v) => v;
  }
  const f = parsed.data;
  if (f === 'keep') return (v) => v;
  if (f === 'fail') return compileFallback(undefined, ctx, where, what);
  if (f === null || f === 'null') return () => null;
  if (typeof f === 'number' || typeof f === 'boolean') return () => f;
  if ('from' in f) {
    addRead(ctx, f.from, `${where}.fallback`);
    return makeFallbackGetter(makeGetter(f.from));
  }
  const fixed = f.value;
  return () => fixed;
}

const makeFallbackGetter =
  (get: (r: unknown) => unknown): Fallback =>
  (_v, r) =>
    get(r);

// ── step schemas ────────────────────────────────────────────────────────────────────────────────

const NAMED_STEPS = [
  'trim',
  'upper',
  'lower',
  'string',
  'number',
  'integer',
  'boolean',
  'currency',
  'typesOfWork',
  'html',
  'compact',
] as const;
type NamedStep = (typeof NAMED_STEPS)[number];

const DurationSchema = z
  .object({
    years: z.number().optional(),
    months: z.number().optional(),
    weeks: z.number().optional(),
    days: z.number().optional(),
    hours: z.number().optional(),
    minutes: z.number().optional(),
    seconds: z.number().optional(),
  })
  .strict();

const DateSchema = z
  .object({
    zone: z.string().optional(),
    zoneFrom: z.string().optional(),
    format: z.string().optional(),
    time: z
      .string()
      .regex(/^\d{2}:\d{2}(:\d{2})?$/, 'time is HH:mm')
      .optional(),
    add: DurationSchema.optional(),
    to: z.string().default('fn'),
    toZone: z.string().default('UTC'),
  })
  .strict();

const STEP_SCHEMAS = {
  map: z.object({ map: z.record(z.string(), z.unknown()), fallback: z.unknown().optional(), ignoreCase: z.boolean().optional() }).strict(),
  range: z
    .object({
      range: z.array(z.object({ min: z.number().optional(), max: z.number().optional(), value: z.unknown() }).strict()).min(1),
      fallback: z.unknown().optional(),
    })
    .strict(),
  date: z.object({ date: DateSchema }).strict(),
  maxLength: z.object({ maxLength: z.number().int().positive(), ellipsis: z.string().optional() }).strict(),
  round: z.object({ round: z.number().int().min(0).max(10) }).strict(),
  multiply: z.object({ multiply: z.number() }).strict(),
  add: z.object({ add: z.number() }).strict(),
  clamp: z.object({ clamp: z.object({ min: z.number().optional(), max: z.number().optional() }).strict() }).strict(),
  split: z.object({ split: z.string().min(1), trim: z.boolean().optional() }).strict(),
  join: z.object({ join: z.string() }).strict(),
  replace: z
    .object({ replace: z.object({ pattern: z.string().min(1), with: z.string(), flags: z.string().optional() }).strict() })
    .strict(),
  prefix: z.object({ prefix: z.string() }).strict(),
  suffix: z.object({ suffix: z.string() }).strict(),
  each: z.object({ each: z.array(z.unknown()).min(1) }).strict(),
} as const;
type StepKind = keyof typeof STEP_SCHEMAS;

const STEP_KINDS = Object.keys(STEP_SCHEMAS) as StepKind[];

// ── named steps ─────────────────────────────────────────────────────────────────────────────────

const toNumber = (v: unknown): number => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    const cleaned = v.trim().replace(/[,$€£\s]/g, '');
    const n = cleaned === '' ? Number.NaN : Number(cleaned);
    if (!Number.isNaN(n)) return n;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new EntryFailure('not a number', v);
};

/**
 * Escapes `& < > "` and turns `\n` / `\r\n` into `<br>`. A scan with slices: twice as fast as a
 * regular expression with a replacer function, and descriptions are on every record.
 */
export function toHtml(s: string): string {
  let out = '';
  let last = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 62) continue; // '>' is the highest special character
    let rep: string;
    if (c === 38) rep = '&amp;';
    else if (c === 60) rep = '&lt;';
    else if (c === 62) rep = '&gt;';
    else if (c === 34) rep = '&quot;';
    else if (c === 10) rep = '<br>';
    else if (c === 13 && s.charCodeAt(i + 1) === 10) {
      out += `${s.slice(last, i)}<br>`;
      last = ++i + 1;
      continue;
    } else continue;
    out += s.slice(last, i) + rep;
    last = i + 1;
  }
  return last === 0 ? s : out + s.slice(last);
}

const NAMED: Record<NamedStep, StepFn> = {
  trim: (v) => (typeof v === 'string' ? v.trim() : v),
  upper: (v) => (typeof v === 'string' ? v.toUpperCase() : v),
  lower: (v) => (typeof v === 'string' ? v.toLowerCase() : v),
  string: (v) => (typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)),
  number: toNumber,
  integer: (v) => Math.round(toNumber(v)),
  currency: (v) => Math.round(toNumber(v) * 100) / 100,
  boolean: (v) => {
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v !== 0;
    if (typeof v === 'string') {
      const s = v.trim().toLowerCase();
      if (['true', 'yes', 'y', '1', 'on'].includes(s)) return true;
      if (['false', 'no', 'n', '0', 'off', ''].includes(s)) return false;
    }
    throw new EntryFailure('not a yes/no value', v);
  },
  // Field Nation wants [{id, isPrimary}], the first type of work being the primary one.
  typesOfWork: (v) => {
    const list = Array.isArray(v) ? v : [v];
    const out: { id: number; isPrimary: boolean }[] = [];
    for (const item of list) {
      if (item == null) continue;
      const raw = typeof item === 'object' ? (item as { id?: unknown }).id : item;
      const id = typeof raw === 'number' ? raw : Number(raw);
      if (!Number.isInteger(id) || id <= 0) throw new EntryFailure('a type of work must be a positive integer id', item);
      out.push({ id, isPrimary: out.length === 0 });
    }
    return out;
  },
  html: (v) => toHtml(String(v)),
  compact: (v) => (Array.isArray(v) ? v.filter((x) => x != null && x !== '') : v),
};

// ── compile ─────────────────────────────────────────────────────────────────────────────────────

function stepKindOf(raw: unknown): StepKind | undefined {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  return STEP_KINDS.find((k) => k in (raw as object));
}

function zodMessage(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ');
}

/** Applies each step to every element when the value is an array (value/range maps over multi-selects). */
const elementwise =
  (fn: StepFn): StepFn =>
  (v, r) =>
    Array.isArray(v) ? v.map((x) => (x == null ? x : fn(x, r))) : fn(v, r);

export function compileSteps(steps: readonly unknown[], ctx: CompileContext, where = 'transform'): StepFn | undefined {
  return chain(compileStepList(steps, ctx, where));
}

/** The steps one by one, for a caller that calls them from its own code (see generateFinish). */
export function compileStepList(steps: readonly unknown[], ctx: CompileContext, where = 'transform'): StepFn[] {
  const fns: StepFn[] = [];
  steps.forEach((raw, i) => {
    const fn = compileStep(raw, ctx, `${where}[${i}]`);
    if (fn) fns.push(fn);
  });
  return fns;
}

/**
 * True when these (valid) steps turn a value that is not empty into one that is not empty either —
 * a number, a formatted date, text cased, trimmed or escaped — so the entry need not check the result
 * again. That check costs more than it seems: reading the first character of a freshly concatenated
 * string makes V8 copy it into one piece. `scalar`: the input is text, a number or a boolean (not a
 * list, whose String() may be blank: `[" "]`).
 */
export function keepsNonBlank(steps: readonly unknown[], scalar: boolean): boolean {
  const visible = (t: unknown) => typeof t === 'string' && !isEmpty(t);
  for (const raw of steps) {
    const s = raw as Record<string, unknown>;
    const kind = typeof raw === 'string' ? raw : stepKindOf(raw);
    switch (kind) {
      case 'trim':
      case 'upper':
      case 'lower':
        break; // text stays visible; anything else passes through
      case 'string':
      case 'number':
      case 'integer':
      case 'currency':
      case 'boolean':
      case 'date':
      case 'round':
      case 'multiply':
      case 'add':
      case 'clamp':
        scalar = true;
        break;
      case 'html':
        if (!scalar) return false;
        break;
      case 'maxLength':
        // A cut keeps the first characters, which may all be blank, unless a visible ellipsis follows.
        if (!scalar || !visible(s.ellipsis)) return false;
        break;
      case 'prefix':
      case 'suffix':
        if (!visible(s[kind])) return false;
        scalar = true;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** One function for the whole list; a null result ends the chain. */
function chain(fns: StepFn[]): StepFn | undefined {
  if (fns.length === 0) return undefined;
  if (fns.length === 1) return fns[0];
  if (fns.length === 2) {
    const [a, b] = fns as [StepFn, StepFn];
    return (v, r) => {
      const x = a(v, r);
      return x == null ? x : b(x, r);
    };
  }
  return (v, r) => {
    let x = v;
    for (let i = 0; i < fns.length; i++) {
      x = fns[i]!(x, r);
      if (x == null) return x;
    }
    return x;
  };
}

function compileStep(raw: unknown, ctx: CompileContext, where: string): StepFn | undefined {
  if (typeof raw === 'string') {
    if ((NAMED_STEPS as readonly string[]).includes(raw)) return NAMED[raw as NamedStep];
    ctx.issues.push({
      target: ctx.target,
      message: `${where}: unknown transform "${raw}" (known: ${[...NAMED_STEPS, ...STEP_KINDS].join(', ')})`,
    });
    return undefined;
  }
  const kind = stepKindOf(raw);
  if (!kind) {
    ctx.issues.push({
      target: ctx.target,
      message: `${where}: unknown transform ${JSON.stringify(raw)} (known: ${[...NAMED_STEPS, ...STEP_KINDS].join(', ')})`,
    });
    return undefined;
  }
  const parsed = STEP_SCHEMAS[kind].safeParse(raw);
  if (!parsed.success) {
    ctx.issues.push({ target: ctx.target, message: `${where} (${kind}): ${zodMessage(parsed.error)}` });
    return undefined;
  }
  const s = parsed.data as Record<string, unknown>;
  switch (kind) {
    case 'map':
      return elementwise(compileValueMap(s as z.infer<(typeof STEP_SCHEMAS)['map']>, ctx, where));
    case 'range':
      return elementwise(compileRangeMap(s as z.infer<(typeof STEP_SCHEMAS)['range']>, ctx, where));
    case 'date':
      return compileDate((s as z.infer<(typeof STEP_SCHEMAS)['date']>).date, ctx, where);
    case 'maxLength': {
      const { maxLength: max, ellipsis = '' } = s as { maxLength: number; ellipsis?: string };
      if (ellipsis.length >= max) ctx.issues.push({ target: ctx.target, message: `${where}: ellipsis is longer than maxLength` });
      return (v) => {
        const str = typeof v === 'string' ? v : String(v);
        // Cut on code points so a surrogate pair is never split.
        if (str.length <= max) return str;
        const cps = Array.from(str);
        return cps.length <= max ? str : cps.slice(0, max - ellipsis.length).join('') + ellipsis;
      };
    }
    case 'round': {
      const f = 10 ** (s.round as number);
      return (v) => Math.round(toNumber(v) * f) / f;
    }
    case 'multiply': {
      const m = s.multiply as number;
      return (v) => toNumber(v) * m;
    }
    case 'add': {
      const a = s.add as number;
      return (v) => toNumber(v) + a;
    }
    case 'clamp': {
      const { min = -Infinity, max = Infinity } = s.clamp as { min?: number; max?: number };
      return (v) => Math.min(max, Math.max(min, toNumber(v)));
    }
    case 'split': {
      const sep = s.split as string;
      const trim = s.trim !== false;
      return (v) => {
        const parts = String(v).split(sep);
        return trim ? parts.map((p) => p.trim()).filter((p) => p !== '') : parts;
      };
    }
    case 'join': {
      const sep = s.join as string;
      return (v) => (Array.isArray(v) ? v.filter((x) => x != null && x !== '').join(sep) : v);
    }
    case 'replace': {
      const r = s.replace as { pattern: string; with: string; flags?: string };
      let re: RegExp;
      try {
        re = new RegExp(r.pattern, r.flags ?? 'g');
      } catch (err) {
        ctx.issues.push({ target: ctx.target, message: `${where}: invalid pattern: ${(err as Error).message}` });
        return undefined;
      }
      return (v) => String(v).replace(re, r.with);
    }
    case 'prefix': {
      const p = s.prefix as string;
      return (v) => p + String(v);
    }
    case 'suffix': {
      const p = s.suffix as string;
      return (v) => String(v) + p;
    }
    case 'each': {
      const inner = compileSteps(s.each as unknown[], ctx, `${where}.each`);
      if (!inner) return undefined;
      return (v, r) => (Array.isArray(v) ? v.map((x) => (x == null ? x : inner(x, r))) : inner(v, r));
    }
  }
}

function compileValueMap(
  s: { map: Record<string, unknown>; fallback?: unknown; ignoreCase?: boolean },
  ctx: CompileContext,
  where: string,
): StepFn {
  const table = new Map<string, unknown>();
  for (const [k, v] of Object.entries(s.map)) table.set(s.ignoreCase ? k.toLowerCase() : k, v);
  const fallback = compileFallback(s.fallback, ctx, where, 'value-map entry');
  const ignoreCase = s.ignoreCase === true;
  return (v, r) => {
    const key = typeof v === 'string' ? (ignoreCase ? v.toLowerCase() : v) : String(v);
    const hit = table.get(key);
    return hit !== undefined || table.has(key) ? hit : fallback(v, r);
  };
}

function compileRangeMap(
  s: { range: { min?: number; max?: number; value: unknown }[]; fallback?: unknown },
  ctx: CompileContext,
  where: string,
): StepFn {
  const ranges = s.range.map((x) => ({ min: x.min ?? -Infinity, max: x.max ?? Infinity, value: x.value }));
  s.range.forEach((x, i) => {
    if (x.min !== undefined && x.max !== undefined && x.min >= x.max) {
      ctx.issues.push({ target: ctx.target, message: `${where}.range[${i}]: min must be below max (min is inclusive, max exclusive)` });
    }
  });
  const fallback = compileFallback(s.fallback, ctx, where, 'range');
  return (v, r) => {
    const n = toNumber(v);
    for (let i = 0; i < ranges.length; i++) {
      const x = ranges[i]!;
      if (n >= x.min && n < x.max) return x.value;
    }
    return fallback(v, r);
  };
}

function compileDate(d: z.infer<typeof DateSchema>, ctx: CompileContext, where: string): StepFn {
  for (const [key, zone] of [
    ['zone', d.zone],
    ['toZone', d.toZone],
  ] as const) {
    if (zone !== undefined && !isValidZone(zone))
      ctx.issues.push({ target: ctx.target, message: `${where}.date.${key}: unknown time zone "${zone}"` });
  }
  const conversion: DateConversion = { zone: d.zone ?? 'UTC', format: d.format, time: d.time, add: d.add, to: d.to, toZone: d.toZone };
  const addMs = fixedDurationMs(d.add);
  if (d.zoneFrom) {
    if (!addRead(ctx, d.zoneFrom, `${where}.date.zoneFrom`)) return (v) => v;
    const getZone = makeGetter(d.zoneFrom);
    return (v, r) => {
      const z = getZone(r);
      return convertDate(v, conversion, typeof z === 'string' && z.trim() !== '' ? z.trim() : undefined, addMs);
    };
  }
  const fast = fastUtcConversion(conversion, addMs);
  if (fast) return (v) => fast(v) ?? convertDate(v, conversion, undefined, addMs);
  return (v) => convertDate(v, conversion, undefined, addMs);
}
