import { type Bind, type CompSpec, type FieldNode, type Node, type Param, parseJsonnet, Unsupported, type Vis } from './jsonnet-parser';
import { STD_JSONNET } from './jsonnet-std-source';

/**
 * A compile-once Jsonnet evaluator: a script is parsed once into an AST and evaluated per record,
 * with the record handed over as a value (no JSON text in between). It reproduces jrsonnet 0.5.0-pre95
 * (the engine inside @arakoodev/jsonnet), which stays the referee: jsonnet-engine.spec.ts runs a corpus
 * through both and requires equal output. Its semantics are ported from jrsonnet's source: lazy
 * locals, fields and array elements; eager comprehensions; object layers with self/super/`+:`;
 * visibility; assertions on first field access; numbers compared within f64::EPSILON; numbers printed
 * as Rust prints an f64. Where the two engines could differ (an error, a quirk jrsonnet has, a std
 * function not ported here) this engine throws, and the runner asks jrsonnet for that record, so an
 * answer from here is either jrsonnet's answer or no answer.
 */

export class EngineError extends Error {}

export type Value = null | boolean | number | string | JArray | JObject | JFunction;

const PENDING = Symbol('pending');

export class Lazy {
  private node: Node | undefined;
  private env: Env | undefined;
  private fn: (() => Value) | undefined;
  private v: Value | typeof PENDING | undefined;
  constructor(node?: Node, env?: Env, fn?: () => Value) {
    this.node = node;
    this.env = env;
    this.fn = fn;
  }
  static of(v: Value): Lazy {
    const l = new Lazy();
    l.v = v;
    return l;
  }
  get(): Value {
    const v = this.v;
    if (v !== undefined) {
      if (v === PENDING) throw new EngineError('infinite recursion detected');
      return v;
    }
    this.v = PENDING;
    try {
      const r = this.fn ? this.fn() : evaluate(this.node!, this.env!);
      this.v = r;
      this.node = undefined;
      this.env = undefined;
      this.fn = undefined;
      return r;
    } catch (err) {
      this.v = undefined;
      throw err;
    }
  }
}

export class JArray {
  constructor(readonly items: Lazy[]) {}
}

export class JFunction {
  constructor(
    readonly params: Param[],
    readonly body: Node | undefined,
    readonly env: Env | undefined,
    readonly native?: (args: (Lazy | undefined)[]) => Value,
    /** A jrsonnet builtin not ported here: any use is handed to jrsonnet. */
    readonly unported?: string,
  ) {}
}

interface LField {
  vis: Vis;
  plus: boolean;
  params: Param[] | undefined;
  body: Node | undefined;
  /** A constant field (std builtins, converted input). */
  value?: Value;
  env: Env | undefined;
  /** Comprehension fields each have their own scope, so their locals are bound per field. */
  own: boolean;
}
interface Layer {
  fields: Map<string, LField>;
  asserts: { cond: Node; msg?: Node }[];
  locals: Bind[];
  env: Env | undefined;
}

export class JObject {
  readonly cache = new Map<string, Value | typeof PENDING>();
  asserted = false;
  envs: (Env | undefined)[] | undefined;
  constructor(readonly layers: Layer[]) {}
}

export class Env {
  constructor(
    readonly parent: Env | undefined,
    readonly vars: Map<string, Lazy> | undefined,
    readonly self: JObject | undefined,
    readonly layer: number,
    readonly dollar: JObject | undefined,
  ) {}
  lookup(name: string): Lazy {
    const here = this.vars?.get(name);
    if (here) return here;
    for (let e = this.parent; e; e = e.parent) {
      const v = e.vars?.get(name);
      if (v) return v;
    }
    throw new EngineError(`variable is not defined: ${name}`);
  }
  extend(vars: Map<string, Lazy>): Env {
    return new Env(this, vars, this.self, this.layer, this.dollar);
  }
}

const fail = (msg: string): never => {
  throw new EngineError(msg);
};
const unsupported = (msg: string): never => {
  throw new Unsupported(msg);
};

// ---------------------------------------------------------------------------------------------
// Types and conversions

export function typeOf(v: Value): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
  }
  if (v instanceof JArray) return 'array';
  if (v instanceof JObject) return 'object';
  return 'function';
}

const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Strings as jrsonnet sees them: a sequence of code points. */
function codePoints(s: string): string[] {
  return SURROGATE.test(s) ? Array.from(s) : s.split('');
}
function cpLength(s: string): number {
  return SURROGATE.test(s) ? Array.from(s).length : s.length;
}
/** Rust's str ordering (UTF-8 bytes, i.e. code points); JS compares UTF-16 units. */
function cmpStr(a: string, b: string): number {
  if (SURROGATE.test(a) || SURROGATE.test(b)) {
    const x = Array.from(a);
    const y = Array.from(b);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
      if (d) return d < 0 ? -1 : 1;
    }
    return x.length - y.length < 0 ? -1 : x.length === y.length ? 0 : 1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** An f64 as Rust's `{}` prints it: shortest round-trip digits, never an exponent. */
export function fmtNum(n: number): string {
  if (Object.is(n, -0)) return '-0';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const s = String(n);
  if (!/e/i.test(s)) return s;
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(n.toExponential())!;
  const digits = m[2]! + (m[3] ?? '');
  const exp = Number(m[4]);
  let out: string;
  if (exp >= 0) {
    out = digits.length <= exp + 1 ? digits + '0'.repeat(exp + 1 - digits.length) : `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  } else out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  return m[1] + out;
}

function checked(n: number): number {
  if (!Number.isFinite(n)) fail('overflow');
  return n;
}

function num(v: Value, what: string): number {
  if (typeof v !== 'number') fail(`${what}: expected number, got ${typeOf(v)}`);
  return v as number;
}
function str(v: Value, what: string): string {
  if (typeof v !== 'string') fail(`${what}: expected string, got ${typeOf(v)}`);
  return v as string;
}
function bool(v: Value, what: string): boolean {
  if (typeof v !== 'boolean') fail(`${what}: expected boolean, got ${typeOf(v)}`);
  return v as boolean;
}
function arr(v: Value, what: string): JArray {
  if (!(v instanceof JArray)) fail(`${what}: expected array, got ${typeOf(v)}`);
  return v as JArray;
}
function obj(v: Value, what: string): JObject {
  if (!(v instanceof JObject)) fail(`${what}: expected object, got ${typeOf(v)}`);
  return v as JObject;
}
function func(v: Value, what: string): JFunction {
  if (!(v instanceof JFunction)) fail(`${what}: expected function, got ${typeOf(v)}`);
  return v as JFunction;
}
/** A non-negative integer argument (jrsonnet's usize/BoundedUsize); anything odd is left to jrsonnet. */
function index(v: Value, what: string): number {
  const n = num(v, what);
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) unsupported(`${what}: ${n}`);
  return n;
}

/** The record as a Jsonnet value, as JSON.stringify would have written it. */
export function fromJs(x: unknown): Value {
  if (x === null || x === undefined) return null;
  switch (typeof x) {
    case 'boolean':
      return x;
    case 'number':
      return Number.isFinite(x) ? x : null;
    case 'string':
      // A lone surrogate becomes an escape jrsonnet refuses; let jrsonnet say so.
      if (LONE_SURROGATE.test(x)) unsupported('lone surrogate in input');
      return x;
    case 'object': {
      const j = (x as { toJSON?: unknown }).toJSON;
      if (typeof j === 'function') return fromJs((j as () => unknown).call(x));
      if (Array.isArray(x)) return new JArray(x.map((e) => Lazy.of(typeof e === 'function' || typeof e === 'symbol' ? null : fromJs(e))));
      const fields = new Map<string, LField>();
      for (const [k, v] of Object.entries(x)) {
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
        if (LONE_SURROGATE.test(k)) unsupported('lone surrogate in input');
        fields.set(k, { vis: 0, plus: false, params: undefined, body: undefined, value: fromJs(v), env: undefined, own: false });
      }
      return new JObject([{ fields, asserts: [], locals: [], env: undefined }]);
    }
  }
  return unsupported(`input of type ${typeof x}`);
}

// ---------------------------------------------------------------------------------------------
// Objects

function bodyEnv(o: JObject, layerIdx: number, layer: Layer, env: Env, own: boolean): Env {
  if (!own) {
    const cached = o.envs?.[layerIdx];
    if (cached) return cached;
  }
  let e = new Env(env, undefined, o, layerIdx, env.dollar ?? o);
  if (layer.locals.length) e = bindLocals(layer.locals, e);
  if (!own) (o.envs ??= [])[layerIdx] = e;
  return e;
}

function fieldValue(o: JObject, layerIdx: number, f: LField): Value {
  if (f.value !== undefined) return f.value;
  const env = bodyEnv(o, layerIdx, o.layers[layerIdx]!, f.env!, f.own);
  if (f.params) return new JFunction(f.params, f.body, env);
  return evaluate(f.body!, env);
}

/** The field as seen from layer `top` down (exclusive), with `self` the whole object. */
function getFrom(o: JObject, name: string, top: number): Value | undefined {
  for (let j = top - 1; j >= 0; j--) {
    const f = o.layers[j]!.fields.get(name);
    if (!f) continue;
    const ours = fieldValue(o, j, f);
    if (f.plus && !f.params) {
      const below = getFrom(o, name, j);
      return below === undefined ? ours : add(below, ours);
    }
    return ours;
  }
  return undefined;
}

function runAsserts(o: JObject): void {
  if (o.asserted) return;
  o.asserted = true;
  try {
    for (let i = o.layers.length - 1; i >= 0; i--) {
      const layer = o.layers[i]!;
      for (const a of layer.asserts) {
        const env = bodyEnv(o, i, layer, layer.env!, false);
        if (!bool(evaluate(a.cond, env), 'assertion')) {
          fail(`assertion failed: ${a.msg ? toStringValue(evaluate(a.msg, env)) : 'null'}`);
        }
      }
    }
  } catch (err) {
    o.asserted = false;
    throw err;
  }
}

export function getField(o: JObject, name: string): Value {
  runAsserts(o);
  const c = o.cache.get(name);
  if (c !== undefined) {
    if (c === PENDING) fail('infinite recursion detected');
    return c as Value;
  }
  o.cache.set(name, PENDING);
  try {
    const v = getFrom(o, name, o.layers.length);
    if (v === undefined) fail(`field does not exist: ${name}`);
    o.cache.set(name, v!);
    return v!;
  } catch (err) {
    o.cache.delete(name);
    throw err;
  }
}

function visibility(o: JObject): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const layer of o.layers) {
    for (const [k, f] of layer.fields) {
      if (f.vis === 1) out.set(k, false);
      else if (f.vis === 2) out.set(k, true);
      else if (!out.has(k)) out.set(k, true);
    }
  }
  return out;
}

export function objectFields(o: JObject, includeHidden: boolean): string[] {
  const out: string[] = [];
  if (o.layers.length === 1) {
    for (const [k, f] of o.layers[0]!.fields) if (includeHidden || f.vis !== 1) out.push(k);
  } else for (const [k, visible] of visibility(o)) if (includeHidden || visible) out.push(k);
  return out.sort(cmpStr);
}

export function hasField(o: JObject, name: string, includeHidden: boolean): boolean {
  if (includeHidden) return o.layers.some((l) => l.fields.has(name));
  let vis: boolean | undefined;
  for (const layer of o.layers) {
    const f = layer.fields.get(name);
    if (!f) continue;
    if (f.vis === 1) vis = false;
    else if (f.vis === 2) vis = true;
    else if (vis === undefined) vis = true;
  }
  return vis === true;
}

function fieldName(v: Value): string | undefined {
  if (v === null) return undefined;
  return str(v, 'field name');
}

function buildObject(node: Extract<Node, { t: 'obj' }>, env: Env): JObject {
  const fields = new Map<string, LField>();
  for (const f of node.fields) {
    const name = typeof f.name === 'string' ? f.name : fieldName(evaluate(f.name, env));
    if (name === undefined) continue;
    if (fields.has(name)) fail(`duplicate field: ${name}`);
    fields.set(name, { vis: f.vis, plus: f.plus, params: f.params, body: f.body, env, own: false });
  }
  return new JObject([{ fields, asserts: node.asserts, locals: node.locals, env }]);
}

function buildObjectComp(node: Extract<Node, { t: 'objComp' }>, env: Env): JObject {
  const fields = new Map<string, LField>();
  const f: FieldNode = node.field;
  comprehension(node.specs, env, (e) => {
    const name = fieldName(evaluate(f.name as Node, e));
    if (name === undefined) return;
    if (fields.has(name)) fail(`duplicate field: ${name}`);
    fields.set(name, { vis: f.vis, plus: f.plus, params: f.params, body: f.body, env: e, own: true });
  });
  return new JObject([{ fields, asserts: [], locals: node.locals, env }]);
}

function comprehension(specs: CompSpec[], env: Env, each: (env: Env) => void, i = 0): void {
  if (i === specs.length) return each(env);
  const spec = specs[i]!;
  if ('if' in spec) {
    if (bool(evaluate(spec.if, env), 'comprehension condition')) comprehension(specs, env, each, i + 1);
    return;
  }
  const list = evaluate(spec.in, env);
  if (!(list instanceof JArray)) return fail('in comprehension can only iterate over array');
  for (const item of list.items) comprehension(specs, env.extend(new Map([[spec.for, item]])), each, i + 1);
}

function bindLocals(binds: Bind[], env: Env): Env {
  const vars = new Map<string, Lazy>();
  const e = env.extend(vars);
  for (const b of binds) {
    if (vars.has(b.name)) fail(`duplicate local ${b.name}`);
    vars.set(b.name, b.params ? Lazy.of(new JFunction(b.params, b.body, e)) : new Lazy(b.body, e));
  }
  return e;
}

// ---------------------------------------------------------------------------------------------
// Functions

export function call(fn: JFunction, args: Lazy[], named?: [string, Lazy][]): Value {
  if (fn.unported) unsupported(`${fn.unported} is not ported`);
  const params = fn.params;
  if (args.length > params.length) fail(`too many arguments, function has ${params.length} parameter(s)`);
  if (fn.native) {
    const bound: (Lazy | undefined)[] = args.slice();
    if (named) {
      for (const [name, v] of named) {
        const i = params.findIndex((p) => p.name === name);
        if (i < 0) fail(`function has no parameter ${name}`);
        if (bound[i]) fail(`argument ${name} is already bound`);
        bound[i] = v;
      }
    }
    for (let i = 0; i < params.length; i++) if (!bound[i] && !params[i]!.def) fail(`function parameter ${params[i]!.name} is not bound`);
    return fn.native(bound);
  }
  const vars = new Map<string, Lazy>();
  for (let i = 0; i < args.length; i++) vars.set(params[i]!.name, args[i]!);
  if (named) {
    for (const [name, v] of named) {
      if (!params.some((p) => p.name === name)) fail(`function has no parameter ${name}`);
      if (vars.has(name)) fail(`argument ${name} is already bound`);
      vars.set(name, v);
    }
  }
  const env = fn.env!.extend(vars);
  if (vars.size < params.length) {
    for (const p of params) {
      if (vars.has(p.name)) continue;
      const def = p.def ?? fail(`function parameter ${p.name} is not bound`);
      vars.set(p.name, def.t === 'fn' ? Lazy.of(new JFunction(def.params, def.body, env)) : new Lazy(def, env));
    }
  }
  return evaluate(fn.body!, env);
}

function callValues(fn: JFunction, ...args: Value[]): Value {
  return call(
    fn,
    args.map((a) => Lazy.of(a)),
  );
}

// ---------------------------------------------------------------------------------------------
// Operators

export function equals(a: Value, b: Value): boolean {
  if (a === b && typeof a !== 'object') return true;
  const ta = typeOf(a);
  if (ta !== typeOf(b)) return false;
  switch (ta) {
    case 'number':
      return Math.abs((a as number) - (b as number)) <= Number.EPSILON;
    case 'array': {
      const x = (a as JArray).items;
      const y = (b as JArray).items;
      if (x === y) return true;
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (!equals(x[i]!.get(), y[i]!.get())) return false;
      return true;
    }
    case 'object': {
      if (a === b) return true;
      const fa = objectFields(a as JObject, false);
      const fb = objectFields(b as JObject, false);
      if (fa.length !== fb.length || fa.some((k, i) => k !== fb[i])) return false;
      for (const k of fa) if (!equals(getField(a as JObject, k), getField(b as JObject, k))) return false;
      return true;
    }
    case 'function':
      return fail('cannot test equality of functions');
  }
  return a === b;
}

function compare(a: Value, b: Value): number {
  if (typeof a === 'string' && typeof b === 'string') return cmpStr(a, b);
  if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
  if (a instanceof JArray && b instanceof JArray) {
    const n = Math.min(a.items.length, b.items.length);
    for (let i = 0; i < n; i++) {
      const c = compare(a.items[i]!.get(), b.items[i]!.get());
      if (c) return c;
    }
    return a.items.length < b.items.length ? -1 : a.items.length > b.items.length ? 1 : 0;
  }
  return fail(`cannot compare ${typeOf(a)} and ${typeOf(b)}`);
}

export function add(a: Value, b: Value): Value {
  const ta = typeof a;
  const tb = typeof b;
  if (ta === 'string' && tb === 'string') return (a as string) + (b as string);
  if (ta === 'number' && tb === 'number') return checked((a as number) + (b as number));
  if (ta === 'number' && tb === 'string') return fmtNum(a as number) + (b as string);
  if (ta === 'string' && tb === 'number') return (a as string) + fmtNum(b as number);
  if (ta === 'string') return (a as string) + toStringValue(b);
  if (tb === 'string') return toStringValue(a) + (b as string);
  if (a instanceof JObject && b instanceof JObject) return new JObject([...a.layers, ...b.layers]);
  if (a instanceof JArray && b instanceof JArray) return new JArray(a.items.concat(b.items));
  return fail(`binary operator + does not operate on ${typeOf(a)} and ${typeOf(b)}`);
}

function int64(n: number): bigint {
  if (!Number.isSafeInteger(Math.trunc(n))) unsupported('bitwise operation on a large number');
  return BigInt(Math.trunc(n));
}

function binary(op: string, a: Value, b: Value): Value {
  switch (op) {
    case '+':
      return add(a, b);
    case '==':
      return equals(a, b);
    case '!=':
      return !equals(a, b);
    case '<':
      return compare(a, b) < 0;
    case '>':
      return compare(a, b) > 0;
    case '<=':
      return compare(a, b) <= 0;
    case '>=':
      return compare(a, b) >= 0;
    case 'in':
      if (typeof a === 'string' && b instanceof JObject) return hasField(b, a, true);
      return fail(`binary operator in does not operate on ${typeOf(a)} and ${typeOf(b)}`);
    case '%':
      if (typeof a === 'number' && typeof b === 'number') {
        if (b === 0) fail('division by zero');
        return a % b;
      }
      if (typeof a === 'string') return format(a, b);
      return fail(`binary operator % does not operate on ${typeOf(a)} and ${typeOf(b)}`);
    case '*':
      if (typeof a === 'string' && typeof b === 'number') {
        if (!Number.isInteger(b) || b < 0 || a.length * b > 1e8) unsupported('string repeat');
        return a.repeat(b);
      }
      return checked(num(a, '*') * num(b, '*'));
    case '/': {
      const d = num(b, '/');
      const n = num(a, '/');
      if (d === 0) fail('division by zero');
      return checked(n / d);
    }
    case '-':
      return checked(num(a, '-') - num(b, '-'));
    case '&&':
      return bool(a, '&&') && bool(b, '&&');
    case '||':
      return bool(a, '||') || bool(b, '||');
    case '&':
      return Number(BigInt.asIntN(64, int64(num(a, '&')) & int64(num(b, '&'))));
    case '|':
      return Number(BigInt.asIntN(64, int64(num(a, '|')) | int64(num(b, '|'))));
    case '^':
      return Number(BigInt.asIntN(64, int64(num(a, '^')) ^ int64(num(b, '^'))));
    case '<<':
    case '>>': {
      const x = int64(num(a, op));
      const s = num(b, op);
      if (s < 0) fail('shift by negative exponent');
      const e = BigInt(Math.trunc(s) & 63);
      return Number(BigInt.asIntN(64, op === '<<' ? x << e : x >> e));
    }
  }
  return unsupported(`operator ${op}`);
}

// ---------------------------------------------------------------------------------------------
// Evaluation

function indexValue(target: Value, key: Value): Value {
  if (target instanceof JObject) {
    return getField(target, str(key, 'object index'));
  }
  if (target instanceof JArray) {
    const n = num(key, 'array index');
    if (!Number.isInteger(n) || n < 0 || n >= target.items.length) unsupported(`array index ${n}`);
    return target.items[n]!.get();
  }
  if (typeof target === 'string') {
    const n = num(key, 'string index');
    const cps = codePoints(target);
    if (!Number.isInteger(n) || n < 0 || n >= cps.length) unsupported(`string index ${n}`);
    return cps[n]!;
  }
  return fail(`cannot index ${typeOf(target)}`);
}

function sliceIndex(v: Value | undefined, what: string, min: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = index(v, what);
  if (n < min) unsupported(`slice ${what} ${n}`);
  return n;
}

function slice(target: Value, s?: Value, e?: Value, st?: Value): Value {
  const start = sliceIndex(s, 'start', 0) ?? 0;
  const end = sliceIndex(e, 'end', 0);
  const step = sliceIndex(st, 'step', 1) ?? 1;
  if (typeof target === 'string') {
    const cps = codePoints(target);
    if (end !== undefined && start >= end) return '';
    let out = '';
    for (let i = start; i < Math.min(cps.length, end ?? Infinity); i += step) out += cps[i];
    return out;
  }
  if (target instanceof JArray) {
    const stop = Math.min(end ?? Infinity, target.items.length);
    if (start >= stop) return new JArray([]);
    const out: Lazy[] = [];
    for (let i = start; i < stop; i += step) out.push(target.items[i]!);
    return new JArray(out);
  }
  return fail(`cannot slice ${typeOf(target)}`);
}

let externals: Value[] = [];

export function evaluate(node: Node, env: Env): Value {
  switch (node.t) {
    case 'lit':
      if (typeof node.v === 'number') return checked(node.v);
      return node.v;
    case 'var':
      return env.lookup(node.name).get();
    case 'self':
      return env.self ?? fail("can't use self outside of an object");
    case 'dollar':
      return env.dollar ?? fail('no top level object');
    case 'index':
      return indexValue(evaluate(node.target, env), evaluate(node.index, env));
    case 'superIndex': {
      const o = env.self ?? fail('no super found');
      if (env.layer === 0) fail('no super found');
      const name = str(evaluate(node.index, env), 'super index');
      const v = getFrom(o, name, env.layer);
      if (v === undefined) fail(`field does not exist: ${name}`);
      return v!;
    }
    case 'inSuper': {
      const o = env.self ?? fail('no super found');
      if (env.layer === 0) fail('no super found');
      const name = str(evaluate(node.key, env), 'in super');
      for (let j = env.layer - 1; j >= 0; j--) if (o.layers[j]!.fields.has(name)) return true;
      return false;
    }
    case 'slice': {
      const t = evaluate(node.target, env);
      const ev = (n?: Node) => (n ? evaluate(n, env) : undefined);
      return slice(t, ev(node.start), ev(node.end), ev(node.step));
    }
    case 'local':
      return evaluate(node.body, bindLocals(node.binds, env));
    case 'obj':
      return buildObject(node, env);
    case 'objComp':
      return buildObjectComp(node, env);
    case 'extend': {
      const base = evaluate(node.target, env);
      const ext = evaluate(node.obj, env);
      return add(base, ext);
    }
    case 'arr':
      return new JArray(node.items.map((item) => new Lazy(item, env)));
    case 'arrComp': {
      const out: Lazy[] = [];
      comprehension(node.specs, env, (e) => out.push(Lazy.of(evaluate(node.body, e))));
      return new JArray(out);
    }
    case 'apply': {
      const fn = evaluate(node.fn, env);
      if (!(fn instanceof JFunction)) return fail(`only functions can be called, got ${typeOf(fn)}`);
      const args = node.args.map((a) => (node.tailstrict ? Lazy.of(evaluate(a, env)) : new Lazy(a, env)));
      const named = node.named.length
        ? node.named.map(([n, a]): [string, Lazy] => [n, node.tailstrict ? Lazy.of(evaluate(a, env)) : new Lazy(a, env)])
        : undefined;
      return call(fn, args, named);
    }
    case 'fn':
      return new JFunction(node.params, node.body, env);
    case 'bin': {
      const a = evaluate(node.l, env);
      if (node.op === '||' && a === true) return true;
      if (node.op === '&&' && a === false) return false;
      return binary(node.op, a, evaluate(node.r, env));
    }
    case 'un': {
      const v = evaluate(node.e, env);
      switch (node.op) {
        case '-':
          return -num(v, 'unary -');
        case '+':
          return num(v, 'unary +');
        case '!':
          return !bool(v, 'unary !');
        case '~':
          return Number(BigInt.asIntN(64, ~int64(num(v, 'unary ~'))));
      }
      return unsupported(`unary ${node.op}`);
    }
    case 'if':
      if (bool(evaluate(node.cond, env), 'if condition')) return evaluate(node.then, env);
      return node.else ? evaluate(node.else, env) : null;
    case 'error':
      return fail(`runtime error: ${toStringValue(evaluate(node.e, env))}`);
    case 'assert':
      if (!bool(evaluate(node.cond, env), 'assertion'))
        fail(`assertion failed: ${node.msg ? toStringValue(evaluate(node.msg, env)) : 'null'}`);
      return evaluate(node.rest, env);
    case 'external':
      return externals[node.slot] ?? null;
  }
}

// ---------------------------------------------------------------------------------------------
// Manifestation

const ESC: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };
export function escapeJson(s: string): string {
  return `"${s.replace(/["\\\u0000-\u001f]/g, (c) => ESC[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

type JsonMode = 'tostring' | 'minify' | 'std';
interface JsonFormat {
  mode: JsonMode;
  padding: string;
  newline: string;
  sep: string;
}

function manifestText(v: Value, f: JsonFormat, pad: string): string {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'number') return fmtNum(v);
  if (typeof v === 'string') return escapeJson(v);
  const inline = f.mode === 'tostring' || f.mode === 'minify';
  if (v instanceof JArray || v instanceof JObject) {
    const isArr = v instanceof JArray;
    if (!isArr) runAsserts(v);
    const keys = isArr ? undefined : objectFields(v, false);
    const n = isArr ? v.items.length : keys!.length;
    let out = isArr ? '[' : '{';
    if (n) {
      if (!inline) out += f.newline;
      const inner = pad + f.padding;
      for (let i = 0; i < n; i++) {
        if (i) out += f.mode === 'tostring' ? ', ' : f.mode === 'minify' ? ',' : `,${f.newline}`;
        out += inner;
        if (isArr) out += manifestText(v.items[i]!.get(), f, inner);
        else out += escapeJson(keys![i]!) + f.sep + manifestText(getField(v, keys![i]!), f, inner);
      }
      if (!inline) out += f.newline + pad;
    } else if (f.mode === 'std') out += f.newline + f.newline + pad;
    else if (f.mode === 'tostring') out += ' ';
    return out + (isArr ? ']' : '}');
  }
  return fail('tried to manifest function');
}

export function toStringValue(v: Value): string {
  if (typeof v === 'string') return v;
  return manifestText(v, { mode: 'tostring', padding: '', newline: '\n', sep: ': ' }, '');
}

/** The value as JSON.parse would return jrsonnet's manifest of it. */
export function toJs(v: Value): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof JArray) return v.items.map((l) => toJs(l.get()));
  if (v instanceof JObject) {
    runAsserts(v);
    const out: Record<string, unknown> = {};
    for (const k of objectFields(v, false)) {
      const x = toJs(getField(v, k));
      if (k === '__proto__') Object.defineProperty(out, k, { value: x, enumerable: true, writable: true, configurable: true });
      else out[k] = x;
    }
    return out;
  }
  return fail('tried to manifest function');
}

// ---------------------------------------------------------------------------------------------
// String formatting (`%`): the plain conversions; flags, widths and precisions are left to jrsonnet.

function formatCode(code: string, v: Value): string {
  if (code === 's') return toStringValue(v);
  if (code === 'd' || code === 'i' || code === 'u') {
    const n = Math.floor(num(v, 'format %d'));
    if (!Number.isSafeInteger(n)) unsupported('format %d of a large number');
    return String(n === 0 ? 0 : n);
  }
  return unsupported(`format %${code}`);
}

function format(fmt: string, vals: Value): string {
  const values = vals instanceof JArray ? vals.items.map((l) => l.get()) : vals instanceof JObject ? undefined : [vals];
  let out = '';
  let next = 0;
  const re = /%(?:\(([^)]*)\))?([^a-zA-Z%]*)([a-zA-Z%])?/g;
  let last = 0;
  for (let m = re.exec(fmt); m; m = re.exec(fmt)) {
    out += fmt.slice(last, m.index);
    last = re.lastIndex;
    const [, key, flags, conv] = m;
    if (flags || !conv) unsupported('format flags');
    if (conv === '%') {
      if (key !== undefined) unsupported('format %(key)%');
      out += '%';
      continue;
    }
    if (values) {
      if (key !== undefined) unsupported('format mapping key with an array');
      if (next >= values.length) fail('not enough values to format');
      out += formatCode(conv!, values[next++]!);
    } else {
      if (key === undefined) fail('format with an object needs mapping keys');
      if (!key || key.includes('.')) unsupported('format key');
      out += formatCode(conv!, getField(vals as JObject, key!));
    }
  }
  out += fmt.slice(last);
  if (values && next < values.length) fail('too many values to format');
  return out;
}

// ---------------------------------------------------------------------------------------------
// The standard library: jrsonnet's builtins ported here, its std.jsonnet evaluated by this engine.

type Builtin = [params: string, impl: (a: (Lazy | undefined)[]) => Value];

const v = (l: Lazy | undefined): Value => l!.get();

function chars(s: string): JArray {
  return new JArray(codePoints(s).map((c) => Lazy.of(c)));
}
function arrOrChars(x: Value, what: string): JArray {
  return typeof x === 'string' ? chars(x) : arr(x, what);
}
function arrayOf(vals: Value[]): JArray {
  return new JArray(vals.map((x) => Lazy.of(x)));
}

function parseNat(raw: string, base: number): number {
  let acc = 0;
  for (const ch of raw) {
    const d = parseInt(ch, base);
    if (Number.isNaN(d) || !/^[0-9a-fA-F]$/.test(ch)) fail(`${raw} is not a base ${base} integer`);
    acc = base * acc + d;
  }
  return acc;
}

function sortKeyed(items: Lazy[], keyF: JFunction | undefined): Lazy[] {
  if (items.length <= 1) return items;
  const keyed = items.map((l) => ({ l, k: keyF ? callValues(keyF, l.get()) : l.get() }));
  const kind = typeof keyed[0]!.k;
  if ((kind !== 'number' && kind !== 'string') || keyed.some((x) => typeof x.k !== kind))
    unsupported('sort keys other than all numbers or all strings');
  if (kind === 'number' && keyed.some((x) => Object.is(x.k, -0))) unsupported('sort with -0');
  keyed.sort((a, b) => (kind === 'string' ? cmpStr(a.k as string, b.k as string) : (a.k as number) - (b.k as number)));
  return keyed.map((x) => x.l);
}
function uniqKeyed(items: Lazy[], keyF: JFunction | undefined): Lazy[] {
  if (items.length <= 1) return items;
  const key = (l: Lazy) => (keyF ? callValues(keyF, l.get()) : l.get());
  const out = [items[0]!];
  let last = key(items[0]!);
  for (const l of items.slice(1)) {
    const k = key(l);
    if (!equals(last, k)) out.push(l);
    last = k;
  }
  return out;
}

const natives = new Map<string, (arg: string) => string>();

/** Register a native callback reachable as `arakoo.native(name)` / `std.native(name)`, as jrsonnet-wasm's. */
export function registerNative(name: string, fn: (arg: string) => string): void {
  natives.set(name, fn);
}

function nativeFunction(name: string): Value {
  const cb = natives.get(name);
  if (!cb) return null;
  return new JFunction([{ name: 'x', def: undefined }], undefined, undefined, ([x]) => {
    const arg = v(x);
    // jrsonnet-wasm hands the callback serde's JSON of its arguments; strings are all our helpers pass.
    if (typeof arg !== 'string') unsupported('native callback with a non-string argument');
    return String(cb(arg as string));
  });
}

const BUILTINS: Record<string, Builtin> = {
  type: ['x', (a) => typeOf(v(a[0]))],
  isString: ['v', (a) => typeof v(a[0]) === 'string'],
  isNumber: ['v', (a) => typeof v(a[0]) === 'number'],
  isBoolean: ['v', (a) => typeof v(a[0]) === 'boolean'],
  isObject: ['v', (a) => v(a[0]) instanceof JObject],
  isArray: ['v', (a) => v(a[0]) instanceof JArray],
  isFunction: ['v', (a) => v(a[0]) instanceof JFunction],
  length: [
    'x',
    (a) => {
      const x = v(a[0]);
      if (typeof x === 'string') return cpLength(x);
      if (x instanceof JArray) return x.items.length;
      if (x instanceof JObject) return objectFields(x, false).length;
      if (x instanceof JFunction) return x.unported ? unsupported(`length of ${x.unported}`) : x.params.length;
      return fail(`length of ${typeOf(x)}`);
    },
  ],
  makeArray: [
    'sz,func',
    (a) => {
      const n = index(v(a[0]), 'makeArray size');
      const f = func(v(a[1]), 'makeArray');
      return new JArray(Array.from({ length: n }, (_, i) => new Lazy(undefined, undefined, () => callValues(f, i))));
    },
  ],
  map: [
    'func,arr',
    (a) => {
      const f = func(v(a[0]), 'map');
      const list = arrOrChars(v(a[1]), 'map');
      return new JArray(list.items.map((l) => new Lazy(undefined, undefined, () => call(f, [l]))));
    },
  ],
  filter: [
    'func,arr',
    (a) => {
      const f = func(v(a[0]), 'filter');
      const list = arr(v(a[1]), 'filter');
      return new JArray(list.items.filter((l) => bool(callValues(f, l.get()), 'filter')).map((l) => Lazy.of(l.get())));
    },
  ],
  filterMap: [
    'filter_func,map_func,arr',
    (a) => {
      const f = func(v(a[0]), 'filterMap');
      const m = func(v(a[1]), 'filterMap');
      const list = arr(v(a[2]), 'filterMap');
      return new JArray(
        list.items.filter((l) => bool(callValues(f, l.get()), 'filterMap')).map((l) => new Lazy(undefined, undefined, () => call(m, [l]))),
      );
    },
  ],
  foldl: [
    'func,arr,init',
    (a) => {
      const f = func(v(a[0]), 'foldl');
      const list = arr(v(a[1]), 'foldl');
      let acc = v(a[2]);
      for (const l of list.items) acc = callValues(f, acc, l.get());
      return acc;
    },
  ],
  foldr: [
    'func,arr,init',
    (a) => {
      const f = func(v(a[0]), 'foldr');
      const list = arr(v(a[1]), 'foldr');
      let acc = v(a[2]);
      for (let i = list.items.length - 1; i >= 0; i--) acc = callValues(f, list.items[i]!.get(), acc);
      return acc;
    },
  ],
  range: [
    'from,to',
    (a) => {
      const from = num(v(a[0]), 'range');
      const to = num(v(a[1]), 'range');
      if (!Number.isInteger(from) || !Number.isInteger(to) || Math.abs(from) > 2 ** 31 - 1 || Math.abs(to) > 2 ** 31 - 1)
        unsupported('range');
      if (to - from > 1e7) unsupported('range too long');
      if (to < from) return new JArray([]);
      return new JArray(Array.from({ length: to - from + 1 }, (_, i) => Lazy.of(from + i)));
    },
  ],
  join: [
    'sep,arr',
    (a) => {
      const sep = v(a[0]);
      const list = arr(v(a[1]), 'join');
      if (typeof sep === 'string') {
        let out = '';
        let first = true;
        for (const l of list.items) {
          const x = l.get();
          if (x === null) continue;
          if (typeof x !== 'string') fail('in std.join all items should be strings');
          if (!first) out += sep;
          first = false;
          out += x as string;
        }
        return out;
      }
      const joiner = arr(sep, 'join separator');
      const out: Lazy[] = [];
      let first = true;
      for (const l of list.items) {
        const x = l.get();
        if (x === null) continue;
        if (!(x instanceof JArray)) fail('in std.join all items should be arrays');
        if (!first) for (const j of joiner.items) out.push(Lazy.of(j.get()));
        first = false;
        for (const y of (x as JArray).items) out.push(Lazy.of(y.get()));
      }
      return new JArray(out);
    },
  ],
  reverse: ['arr', (a) => new JArray(arr(v(a[0]), 'reverse').items.slice().reverse())],
  any: ['arr', (a) => arr(v(a[0]), 'any').items.some((l) => bool(l.get(), 'any'))],
  all: ['arr', (a) => arr(v(a[0]), 'all').items.every((l) => bool(l.get(), 'all'))],
  member: ['arr,x', (a) => member(v(a[0]), v(a[1]))],
  contains: ['arr,elem', (a) => member(v(a[0]), v(a[1]))],
  count: ['arr,x', (a) => arr(v(a[0]), 'count').items.filter((l) => equals(l.get(), v(a[1]))).length],
  flattenArrays: [
    'arrs',
    (a) => {
      const out: Lazy[] = [];
      for (const l of arr(v(a[0]), 'flattenArrays').items) out.push(...arr(l.get(), 'flattenArrays').items);
      return new JArray(out);
    },
  ],
  abs: ['n', (a) => Math.abs(num(v(a[0]), 'abs'))],
  sign: ['n', (a) => Math.sign(num(v(a[0]), 'sign')) || 0],
  max: ['a,b', (a) => Math.max(num(v(a[0]), 'max'), num(v(a[1]), 'max'))],
  min: ['a,b', (a) => Math.min(num(v(a[0]), 'min'), num(v(a[1]), 'min'))],
  floor: ['x', (a) => Math.floor(num(v(a[0]), 'floor'))],
  ceil: ['x', (a) => Math.ceil(num(v(a[0]), 'ceil'))],
  round: [
    'x',
    (a) => {
      const x = num(v(a[0]), 'round');
      return x < 0 ? -Math.round(-x) : Math.round(x);
    },
  ],
  mod: [
    'a,b',
    (a) => {
      const x = v(a[0]);
      if (typeof x !== 'number' && typeof x !== 'string') fail('mod');
      return binary('%', x, v(a[1]));
    },
  ],
  equals: ['a,b', (a) => equals(v(a[0]), v(a[1]))],
  format: ['str,vals', (a) => format(str(v(a[0]), 'format'), v(a[1]))],
  sort: ['arr,keyF=', (a) => new JArray(sortKeyed(arr(v(a[0]), 'sort').items, a[1] ? func(v(a[1]), 'sort') : undefined))],
  uniq: ['arr,keyF=', (a) => new JArray(uniqKeyed(arr(v(a[0]), 'uniq').items, a[1] ? func(v(a[1]), 'uniq') : undefined))],
  set: [
    'arr,keyF=',
    (a) => {
      const k = a[1] ? func(v(a[1]), 'set') : undefined;
      return new JArray(uniqKeyed(sortKeyed(arr(v(a[0]), 'set').items, k), k));
    },
  ],
  objectFieldsEx: ['obj,hidden', (a) => arrayOf(objectFields(obj(v(a[0]), 'objectFieldsEx'), bool(v(a[1]), 'objectFieldsEx')))],
  objectFields: ['o', (a) => arrayOf(objectFields(obj(v(a[0]), 'objectFields'), false))],
  objectFieldsAll: ['o', (a) => arrayOf(objectFields(obj(v(a[0]), 'objectFieldsAll'), true))],
  objectValues: ['o', (a) => objectValues(obj(v(a[0]), 'objectValues'), false)],
  objectValuesAll: ['o', (a) => objectValues(obj(v(a[0]), 'objectValuesAll'), true)],
  objectHasEx: [
    'obj,fname,hidden',
    (a) => hasField(obj(v(a[0]), 'objectHasEx'), str(v(a[1]), 'objectHasEx'), bool(v(a[2]), 'objectHasEx')),
  ],
  objectHas: ['o,f', (a) => hasField(obj(v(a[0]), 'objectHas'), str(v(a[1]), 'objectHas'), false)],
  objectHasAll: ['o,f', (a) => hasField(obj(v(a[0]), 'objectHasAll'), str(v(a[1]), 'objectHasAll'), true)],
  escapeStringJson: ['str_', (a) => escapeJson(str(v(a[0]), 'escapeStringJson'))],
  manifestJsonEx: [
    'value,indent,newline=,key_val_sep=',
    (a) => {
      const newline = a[2] ? str(v(a[2]), 'manifestJsonEx') : '\n';
      const sep = a[3] ? str(v(a[3]), 'manifestJsonEx') : ': ';
      return manifestText(v(a[0]), { mode: 'std', padding: str(v(a[1]), 'manifestJsonEx'), newline, sep }, '');
    },
  ],
  parseJson: [
    'str',
    (a) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(str(v(a[0]), 'parseJson'));
      } catch (err) {
        return fail(`failed to parse json: ${(err as Error).message}`);
      }
      return fromJs(parsed);
    },
  ],
  codepoint: [
    'str',
    (a) => {
      const cps = codePoints(str(v(a[0]), 'codepoint'));
      if (cps.length !== 1) fail('codepoint of a string that is not one character');
      return cps[0]!.codePointAt(0)!;
    },
  ],
  substr: [
    'str,from,len',
    (a) => {
      const cps = codePoints(str(v(a[0]), 'substr'));
      const from = index(v(a[1]), 'substr from');
      const len = index(v(a[2]), 'substr len');
      return cps.slice(from, from + len).join('');
    },
  ],
  char: [
    'n',
    (a) => {
      const n = index(v(a[0]), 'char');
      if (n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) fail('invalid unicode codepoint');
      return String.fromCodePoint(n);
    },
  ],
  strReplace: [
    'str,from,to',
    (a) => {
      const s = str(v(a[0]), 'strReplace');
      const from = str(v(a[1]), 'strReplace');
      if (!from) unsupported('strReplace with an empty pattern');
      return s.split(from).join(str(v(a[2]), 'strReplace'));
    },
  ],
  isEmpty: ['str', (a) => str(v(a[0]), 'isEmpty').length === 0],
  equalsIgnoreCase: ['str1,str2', (a) => asciiLower(str(v(a[0]), 'equalsIgnoreCase')) === asciiLower(str(v(a[1]), 'equalsIgnoreCase'))],
  splitLimit: [
    'str,c,maxsplits',
    (a) => {
      const s = str(v(a[0]), 'splitLimit');
      const c = str(v(a[1]), 'splitLimit');
      const max = num(v(a[2]), 'splitLimit');
      if (!c) unsupported('split on an empty string');
      const parts = s.split(c);
      if (max === -1) return arrayOf(parts);
      if (!Number.isInteger(max) || max < 0) unsupported('splitLimit maxsplits');
      if (parts.length <= max + 1) return arrayOf(parts);
      return arrayOf([...parts.slice(0, max), parts.slice(max).join(c)]);
    },
  ],
  asciiUpper: ['str', (a) => str(v(a[0]), 'asciiUpper').replace(/[a-z]+/g, (m) => m.toUpperCase())],
  asciiLower: ['str', (a) => asciiLower(str(v(a[0]), 'asciiLower'))],
  findSubstr: [
    'pat,str',
    (a) => {
      const pat = str(v(a[0]), 'findSubstr');
      const s = str(v(a[1]), 'findSubstr');
      if (SURROGATE.test(s) || SURROGATE.test(pat)) unsupported('findSubstr on non-BMP text');
      const out: number[] = [];
      if (!pat || !s || pat.length > s.length) return new JArray([]);
      for (let i = s.indexOf(pat); i >= 0; i = s.indexOf(pat, i + 1)) out.push(i);
      return arrayOf(out);
    },
  ],
  parseInt: [
    'str',
    (a) => {
      const s = str(v(a[0]), 'parseInt');
      if (s.startsWith('-')) {
        if (s.length === 1) fail('integer only consists of a minus');
        return -parseNat(s.slice(1), 10);
      }
      if (!s) fail('empty integer');
      return parseNat(s, 10);
    },
  ],
  stringChars: ['str', (a) => chars(str(v(a[0]), 'stringChars'))],
  startsWith: [
    'a,b',
    (a) => {
      const x = v(a[0]);
      const y = v(a[1]);
      if (typeof x === 'string' && typeof y === 'string') return x.startsWith(y);
      return unsupported('startsWith on arrays');
    },
  ],
  endsWith: [
    'a,b',
    (a) => {
      const x = v(a[0]);
      const y = v(a[1]);
      if (typeof x === 'string' && typeof y === 'string') return x.endsWith(y);
      return unsupported('endsWith on arrays');
    },
  ],
  native: ['x', (a) => nativeFunction(str(v(a[0]), 'native'))],
  id: ['x', (a) => v(a[0])],
};

BUILTINS['toString'] = ['a', (a) => toStringValue(v(a[0]))];

/** jrsonnet's other builtins: present (so std's fields are the same), but handed to jrsonnet when called. */
const NOT_PORTED = [
  'repeat',
  'slice',
  'flatMap',
  'avg',
  'removeAt',
  'remove',
  'sum',
  'modulo',
  'log',
  'pow',
  'sqrt',
  'sin',
  'cos',
  'tan',
  'asin',
  'acos',
  'atan',
  'exp',
  'mantissa',
  'exponent',
  'isEven',
  'isOdd',
  'isInteger',
  'isDecimal',
  'primitiveEquals',
  'xor',
  'xnor',
  'minArray',
  'maxArray',
  'md5',
  'sha1',
  'sha256',
  'sha512',
  'sha3',
  'encodeUTF8',
  'decodeUTF8',
  'base64',
  'base64Decode',
  'base64DecodeBytes',
  'objectKeysValues',
  'objectKeysValuesAll',
  'objectRemoveKey',
  'manifestYamlDoc',
  'manifestTomlEx',
  'parseYaml',
  'bigint',
  'parseOctal',
  'parseHex',
  'setMember',
  'setInter',
  'setDiff',
  'setUnion',
  '__compare',
  'extVar',
  'trace',
];

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}

function member(x: Value, item: Value): boolean {
  if (typeof x === 'string') {
    const needle = str(item, 'member');
    return needle.length > 0 && x.includes(needle);
  }
  return arr(x, 'member').items.some((l) => equals(l.get(), item));
}

function objectValues(o: JObject, hidden: boolean): JArray {
  return new JArray(objectFields(o, hidden).map((k) => new Lazy(undefined, undefined, () => getField(o, k))));
}

const OPTIONAL: Node = { t: 'lit', v: null };

function builtinFunction(params: string, impl: Builtin[1]): JFunction {
  const ps: Param[] = params
    .split(',')
    .filter(Boolean)
    .map((p) => (p.endsWith('=') ? { name: p.slice(0, -1), def: OPTIONAL } : { name: p, def: undefined }));
  return new JFunction(ps, undefined, undefined, impl);
}

const constField = (value: Value): LField => ({
  vis: 1,
  plus: false,
  params: undefined,
  body: undefined,
  value,
  env: undefined,
  own: false,
});

function makeGlobals(): Env {
  const fields = new Map<string, LField>();
  for (const [name, [params, impl]] of Object.entries(BUILTINS)) fields.set(name, constField(builtinFunction(params, impl)));
  for (const name of NOT_PORTED) fields.set(name, constField(new JFunction([], undefined, undefined, undefined, `std.${name}`)));
  const arakoo = new Map<string, LField>([
    ['native', constField(builtinFunction('x', (a) => nativeFunction(str(v(a[0]), 'native'))))],
    ['join', constField(builtinFunction('a,b', (a) => str(v(a[0]), 'join') + str(v(a[1]), 'join')))],
    ['includes', constField(builtinFunction('a,b', (a) => str(v(a[0]), 'includes').includes(str(v(a[1]), 'includes'))))],
    ['regexMatch', constField(new JFunction([], undefined, undefined, undefined, 'arakoo.regexMatch'))],
    ['urlEncode', constField(new JFunction([], undefined, undefined, undefined, 'arakoo.urlEncode'))],
  ]);
  const root = new Env(undefined, new Map(), undefined, 0, undefined);
  // std.jsonnet underneath, the builtins on top, as jrsonnet's stdlib_uncached builds it.
  const stdSource = evaluate(parseJsonnet(STD_JSONNET), root) as JObject;
  const std = new JObject([...stdSource.layers, { fields, asserts: [], locals: [], env: undefined }]);
  return root.extend(
    new Map([
      ['std', Lazy.of(std)],
      ['arakoo', Lazy.of(new JObject([{ fields: arakoo, asserts: [], locals: [], env: undefined }]))],
    ]),
  );
}

let globals: Env | undefined;

/** std functions this engine evaluates itself (the rest are handed to jrsonnet when called). */
export function portedStd(): Set<string> {
  const std = (globals ??= makeGlobals()).lookup('std').get() as JObject;
  const out = new Set<string>();
  for (const name of objectFields(std, true)) {
    if (NOT_PORTED.includes(name)) continue;
    out.add(name);
  }
  return out;
}

/** Parse counter: compiled scripts must not be re-parsed per record (asserted by a unit test). */
export const engineStats = { parses: 0 };

export interface CompiledScript {
  ast: Node;
}

export function compile(src: string, patch?: (ast: Node) => Node): CompiledScript {
  engineStats.parses++;
  const ast = parseJsonnet(src);
  return { ast: patch ? patch(ast) : ast };
}

/** Evaluate with `externals` as the values of the script's external slots; returns the JS value of the manifest. */
export function run(script: CompiledScript, slots: Value[]): unknown {
  const env = (globals ??= makeGlobals());
  const saved = externals;
  externals = slots;
  try {
    return toJs(evaluate(script.ast, env));
  } finally {
    externals = saved;
  }
}
