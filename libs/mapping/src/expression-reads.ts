/**
 * Which record fields a JSONata or Jsonnet expression reads, so that reading a field its `reads:`
 * does not declare is a validation error rather than a silent null (expressions get a record holding
 * only the declared paths). Static first: JSONata's parsed AST, a conservative scan of Jsonnet for
 * `$.input.X` and `util.lookup_field($.input, 'X')`. Where a read cannot be told statically (a
 * computed key, the record bound to a variable or passed whole to a function), the expression is
 * evaluated once against a record of the declared paths that records every other name asked of it.
 */
import { runJsonnet } from './jsonnet-runner';

export interface StaticReads {
  /** Dotted record paths named in the expression. */
  paths: string[];
  /** Some read cannot be determined statically: probe by evaluation. */
  dynamic: boolean;
}

/** A path is covered when it is declared or leads to a declared one (`Account` for `Account.Name`). */
export function undeclared(paths: readonly string[], declared: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) if (!declared.some((d) => d === p || d.startsWith(`${p}.`))) out.add(p);
  return [...out];
}

// ── JSONata ─────────────────────────────────────────────────────────────────────────────────────

type Node = { type?: string; value?: unknown; steps?: Node[]; stages?: { expr?: Node }[]; [key: string]: unknown };

const join = (base: string, name: string) => (base ? `${base}.${name}` : name);

/** Reads of a JSONata AST (`jsonata(expr).ast()`), relative paths resolved against their context. */
export function jsonataReads(ast: unknown): StaticReads {
  const paths = new Set<string>();
  let dynamic = false;
  const visit = (node: unknown, base: string | null): void => {
    if (Array.isArray(node)) return node.forEach((n) => visit(n, base));
    if (node === null || typeof node !== 'object') return;
    const n = node as Node;
    if (n.type === 'path' && Array.isArray(n.steps)) {
      let cur: string | null = base;
      let lastWasName = false;
      n.steps.forEach((s, i) => {
        if (s.type === 'name' && typeof s.value === 'string') {
          if (cur === null) dynamic = true;
          cur = cur === null ? null : join(cur, s.value);
          lastWasName = true;
        } else if (s.type === 'variable' && i === 0) {
          // `$$` is the record, `$` the context; any other variable holds something computed.
          cur = s.value === '$' ? '' : s.value === '' ? base : null;
          lastWasName = false;
        } else {
          if (lastWasName && cur) paths.add(cur);
          visit(s, cur);
          cur = null;
          lastWasName = false;
        }
        for (const stage of s.stages ?? []) visit(stage.expr, cur);
      });
      if (lastWasName && cur) paths.add(cur);
      return;
    }
    if (n.type === 'function' && (n.procedure as Node | undefined)?.value === 'lookup') {
      const [obj, key] = (n.arguments as Node[] | undefined) ?? [];
      const target = obj?.type === 'variable' ? (obj.value === '$' ? '' : obj.value === '' ? base : null) : pathOf(obj, base);
      if (target !== null && key?.type === 'string' && typeof key.value === 'string') paths.add(join(target, key.value));
      else dynamic = true;
    }
    for (const [k, v] of Object.entries(n)) if (k !== 'procedure' && (k !== 'value' || typeof v === 'object')) visit(v, base);
  };
  visit(ast, '');
  return { paths: [...paths].sort(), dynamic };
}

/** The dotted path of a plain name path node, else null. */
function pathOf(node: Node | undefined, base: string | null): string | null {
  if (!node || node.type !== 'path' || !Array.isArray(node.steps) || base === null) return null;
  let cur = base;
  for (const s of node.steps) {
    if (s.type !== 'name' || typeof s.value !== 'string' || s.stages) return null;
    cur = join(cur, s.value);
  }
  return cur;
}

/** JSONata's own property probes on objects it is handed (not record fields). */
const JSONATA_INTERNALS = new Set(['sequence', 'outerWrapper', 'tupleStream', 'keepSingleton', 'then', 'toJSON', 'constructor']);

/**
 * A record holding the declared paths (leaves absent, so no operator meets a made-up value) that
 * notes every other field name asked of it.
 */
export function recordingRecord(declared: readonly string[], onRead: (path: string) => void): Record<string, unknown> {
  const tree: Record<string, unknown> = {};
  for (const p of declared) {
    let cur = tree;
    for (const seg of p.split('.').slice(0, -1)) cur = (cur[seg] ??= {}) as Record<string, unknown>;
  }
  const leaves = new Set(declared);
  const wrap = (obj: Record<string, unknown>, prefix: string): Record<string, unknown> => {
    const note = (k: string | symbol) => {
      if (typeof k !== 'string' || !/^[A-Za-z][A-Za-z0-9_]*$/.test(k) || JSONATA_INTERNALS.has(k)) return;
      const path = join(prefix, k);
      if (!(k in obj) && !leaves.has(path)) onRead(path);
    };
    for (const [k, v] of Object.entries(obj)) obj[k] = wrap(v as Record<string, unknown>, join(prefix, k));
    return new Proxy(obj, {
      get: (t, k, r) => (note(k), Reflect.get(t, k, r)),
      has: (t, k) => (note(k), Reflect.has(t, k)),
      getOwnPropertyDescriptor: (t, k) => (note(k), Reflect.getOwnPropertyDescriptor(t, k)),
    });
  };
  return wrap(tree, '');
}

/** Evaluate a JSONata expression once against the recording record; the undeclared paths it asked for. */
export async function probeJsonata(evaluate: (input: unknown) => Promise<unknown>, declared: readonly string[]): Promise<string[]> {
  const asked = new Set<string>();
  try {
    await evaluate(recordingRecord(declared, (p) => asked.add(p)));
  } catch {
    // An error on the made-up record ends the probe; what was asked until then still counts.
  }
  return [...asked].sort();
}

// ── Jsonnet ─────────────────────────────────────────────────────────────────────────────────────

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const LIT = `(?:'([^'\\\\]*)'|"([^"\\\\]*)")`;
/** `$.input` followed by `.name` or `['name']` steps. */
const INPUT_CHAIN = new RegExp(`\\$\\.input((?:\\s*\\.\\s*${IDENT}|\\s*\\[\\s*${LIT}\\s*\\])*)`, 'g');
const STEP = new RegExp(`\\.\\s*(${IDENT})|\\[\\s*${LIT}\\s*\\]`, 'g');
/** `util.lookup_field($.input…, 'a.b'…)` with a literal path. */
const LOOKUP = new RegExp(`lookup_field\\(\\s*(\\$\\.input(?:\\s*\\.\\s*${IDENT})*)\\s*,\\s*${LIT}(?=\\s*[,)])`, 'g');
/** Presence checks on the record with a literal name. */
const HAS = new RegExp(`std\\.(?:objectHas|objectHasAll|get)\\(\\s*(\\$\\.input(?:\\s*\\.\\s*${IDENT})*)\\s*,\\s*${LIT}(?=\\s*[,)])`, 'g');

function stripComments(script: string): string {
  // Strings are kept (they hold lookup paths); comment markers inside strings are rare in mappings.
  return script.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"])(?:\/\/|#).*$/gm, '$1');
}

const chainPath = (chain: string): string[] => [...chain.matchAll(STEP)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');

/** Reads of a Jsonnet script through `$.input` (what the Field Nation broker's custom actions use). */
export function jsonnetReads(script: string): StaticReads {
  const text = stripComments(script);
  const paths = new Set<string>();
  let dynamic = false;
  const consumed = new Set<number>();
  for (const m of text.matchAll(LOOKUP)) {
    const base = chainPath(m[1]!.slice('$.input'.length));
    paths.add([...base, m[2] ?? m[3] ?? ''].join('.'));
    consumed.add(m.index + m[0].indexOf('$.input'));
  }
  for (const m of text.matchAll(HAS)) {
    const base = chainPath(m[1]!.slice('$.input'.length));
    paths.add([...base, m[2] ?? m[3] ?? ''].join('.'));
    consumed.add(m.index + m[0].indexOf('$.input'));
  }
  for (const m of text.matchAll(INPUT_CHAIN)) {
    if (consumed.has(m.index)) continue;
    const steps = chainPath(m[1] ?? '');
    const after = text.slice(m.index + m[0].length).trimStart();
    // The record (or a part of it) handed on whole (to a helper that may look a field up by a computed
    // name, or bound to a local), or indexed by something computed: not statically known. A direct
    // `.Field` below it needs no probe: Jsonnet fails on a missing field instead of reading null.
    if (steps.length === 0 || /^[[,);]/.test(after)) dynamic = true;
    if (steps.length) paths.add(steps.join('.'));
  }
  // The record reached any other way (`self`, `$['input']`): not statically known either.
  if (/\$\s*\[\s*['"]input['"]\s*\]/.test(text)) dynamic = true;
  return { paths: [...paths].sort(), dynamic };
}

/**
 * Evaluate a Jsonnet script once with `$.input` holding only the declared paths (null leaves) and
 * `lookup_field` on the record failing on a path that is not declared; the undeclared path asked
 * (the first: evaluation stops there). A direct read of a missing field stops Jsonnet with "no such
 * field: X", which counts as the read. Runs through the engine's own runner: the script is wrapped,
 * its `$.input`/`$.util` pointed at a local holding the record and the instrumented helpers.
 */
export function probeJsonnet(script: string, declared: readonly string[]): string[] {
  const input: Record<string, unknown> = {};
  for (const p of declared) {
    const segs = p.split('.');
    let cur = input;
    for (const seg of segs.slice(0, -1))
      cur = (cur[seg] = cur[seg] && typeof cur[seg] === 'object' ? cur[seg] : {}) as Record<string, unknown>;
    if (!(segs.at(-1)! in cur)) cur[segs.at(-1)!] = null;
  }
  const allowed = new Set<string>();
  for (const p of declared) {
    const segs = p.split('.');
    for (let i = 1; i <= segs.length; i++) allowed.add(segs.slice(0, i).join('.'));
  }
  const usesLookup = /\blookup_field\b/.test(script);
  const override = usesLookup
    ? ` + { lookup_field(obj, path, default=null):: if obj == $.input && !std.member(${JSON.stringify([...allowed].sort())}, path) then error ('${PROBE_MARK}' + path) else super.lookup_field(obj, path, default) }`
    : '';
  const body = script.replace(/\$\s*\.\s*(input|util)\b/g, '__probe.$1');
  const wrapped = `local __probe = { input: $.input, util: $.util${override} };\n${body}`;
  try {
    runJsonnet(wrapped, input);
  } catch (err) {
    const text = (err as Error).message;
    const marked = new RegExp(`${PROBE_MARK}(\\S+)`).exec(text);
    if (marked) return [marked[1]!];
    const missing = /no such field: (\S+)/.exec(text);
    if (missing && !allowed.has(missing[1]!)) return [missing[1]!];
  }
  return [];
}

const PROBE_MARK = 'broker-probe-undeclared-read: ';
