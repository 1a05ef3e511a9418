import type { DurationLikeObject } from 'luxon';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { compileFunction } from 'node:vm';
import { convertDate, momentToLuxon } from './date-time';
import { compile, type CompiledScript, fromJs, portedStd, registerNative, run } from './jsonnet-engine';
import { utilFor } from './jsonnet-helpers';
import type { Node } from './jsonnet-parser';

/**
 * Jsonnet is evaluated by the compile-once engine (jsonnet-engine.ts) where it can, and otherwise by
 * jrsonnet compiled to WebAssembly (@arakoodev/jsonnet): in process and far cheaper per evaluation
 * than the native binding @hanazuki/node-jsonnet (figures: docs/mapping.md). Both are synchronous,
 * so Jsonnet entries do not make a mapping async.
 */
const requireCjs = createRequire(import.meta.url);
const glueFile = path.join(path.dirname(requireCjs.resolve('@arakoodev/jsonnet')), 'jsonnet_wasm.js');

/** The wasm-bindgen glue of @arakoodev/jsonnet (what its Jsonnet class calls). */
interface JrsonnetGlue {
  jsonnet_make(): number;
  jsonnet_evaluate_snippet(vm: number, filename: string, snippet: string): string;
  set_func(name: string, fn: (args: string) => string): void;
  register_native_callback(vm: number, name: string, argCount: number): void;
  __wasm: { memory: { buffer: ArrayBuffer } };
}

/**
 * jrsonnet-wasm never frees what an evaluation allocates (its objects are reference cycles its
 * collector is not asked to collect): 1–3 KB per object, about 50 KB for a typical custom action.
 * WebAssembly memory cannot shrink, so past this size the instance is dropped and a fresh one made.
 */
export const jrsonnetLimits = { wasmBytes: 32 * 2 ** 20 };

/**
 * The glue instantiates the WebAssembly module when it is loaded; running its source again (rather
 * than require, whose cache and module tree would keep every old instance alive) makes a fresh
 * instance with its own memory, and the old one is collected with the last reference to it.
 */
let glueFactory: ((...args: unknown[]) => void) | undefined;
function instantiate(): JrsonnetGlue {
  glueFactory ??= compileFunction(readFileSync(glueFile, 'utf8'), ['exports', 'require', 'module', '__filename', '__dirname'], {
    filename: glueFile,
  }) as (...args: unknown[]) => void;
  const module = { exports: {} };
  glueFactory(module.exports, createRequire(glueFile), module, glueFile, path.dirname(glueFile));
  return module.exports as JrsonnetGlue;
}

interface Machine {
  evaluateSnippet(snippet: string): string;
}
let vm: (Machine & { memory: { buffer: ArrayBuffer } }) | undefined;

function machine(): Machine {
  if (vm && vm.memory.buffer.byteLength <= jrsonnetLimits.wasmBytes) return vm;
  const glue = instantiate();
  const ptr = glue.jsonnet_make();
  // As the package's Jsonnet.javascriptCallback registers them: the callback gets the JSON of the
  // arguments spread, and returns a string. Results travel as JSON, errors as {error}.
  const callback = (name: string, fn: (arg: string) => string) => {
    glue.set_func(name, (args: string) => fn(...(JSON.parse(args) as [string])).toString());
    glue.register_native_callback(ptr, name, fn.length);
  };
  callback('broker_date_convert', (args: string) => guarded(() => dateConvert(JSON.parse(args) as unknown[])));
  callback('broker_date_add', (args: string) => guarded(() => dateAdd(JSON.parse(args) as unknown[])));
  vm = { evaluateSnippet: (snippet) => glue.jsonnet_evaluate_snippet(ptr, 'snippet', snippet), memory: glue.__wasm.memory };
  jsonnetStats.jrsonnetInstances++;
  return vm;
}

/** Size of the current jrsonnet instance's WebAssembly memory (0 before the first use). */
export function jrsonnetMemoryBytes(): number {
  return vm?.memory.buffer.byteLength ?? 0;
}

// The compile-once engine calls the same callbacks (jsonnet-engine.ts).
registerNative('broker_date_convert', (args: string) => guarded(() => dateConvert(JSON.parse(args) as unknown[])));
registerNative('broker_date_add', (args: string) => guarded(() => dateAdd(JSON.parse(args) as unknown[])));

function guarded(fn: () => unknown): string {
  try {
    return JSON.stringify({ value: fn() ?? null });
  } catch (err) {
    return JSON.stringify({ error: (err as Error).message });
  }
}

function luxonFormat(fmt: unknown): string | undefined {
  if (typeof fmt !== 'string' || /^iso$/i.test(fmt)) return undefined;
  return momentToLuxon(fmt);
}

function outFormat(fmt: unknown): string {
  if (typeof fmt !== 'string' || /^iso$/i.test(fmt)) return 'iso';
  const f = momentToLuxon(fmt);
  return f === 'yyyy-MM-dd HH:mm:ss' ? 'fn' : f;
}

function dateConvert([value, fmtIn, fmtOut, tzIn, tzOut]: unknown[]): unknown {
  return convertDate(value, {
    zone: typeof tzIn === 'string' ? tzIn : 'UTC',
    format: luxonFormat(fmtIn),
    to: outFormat(fmtOut),
    toZone: typeof tzOut === 'string' ? tzOut : 'UTC',
  });
}

function dateAdd([value, amount, unit, fmt, tz]: unknown[]): unknown {
  const u = String(unit ?? 'days');
  const key = (u.endsWith('s') ? u : `${u}s`) as keyof DurationLikeObject;
  if (!['years', 'months', 'weeks', 'days', 'hours', 'minutes', 'seconds'].includes(key)) throw new Error(`date_add: unknown unit "${u}"`);
  const zone = typeof tz === 'string' ? tz : 'UTC';
  const format = luxonFormat(fmt);
  return convertDate(value, { zone, format, add: { [key]: Number(amount) }, to: outFormat(fmt), toZone: zone });
}

export class JsonnetError extends Error {}

/** A script with its helper library, ready to evaluate per input. */
export interface PreparedJsonnet {
  head: string;
  tail: string;
  /** The wrapper parsed once by the compile-once engine; absent when the script is left to jrsonnet. */
  compiled?: CompiledScript;
}

/** Counts evaluations by engine, for the figures in docs/mapping.md and the tests. */
export const jsonnetStats = { compiled: 0, jrsonnet: 0, fallbacks: 0, jrsonnetInstances: 0 };

/** `$.input` becomes a slot the record is put in as a value, instead of a JSON literal parsed per record. */
function inputSlot(ast: Node): Node {
  if (ast.t !== 'index' || ast.target.t !== 'obj') throw new Error('unexpected Jsonnet wrapper shape');
  const input = ast.target.fields.find((f) => f.name === 'input');
  if (!input) throw new Error('unexpected Jsonnet wrapper shape');
  input.body = { t: 'external', slot: 0 };
  return ast;
}

/** std functions named in the script that the engine hands to jrsonnet: such a script goes to jrsonnet outright. */
function usesUnportedStd(script: string): boolean {
  const ported = portedStd();
  for (const m of script.matchAll(/\bstd\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)/g)) if (!ported.has(m[1]!)) return true;
  return /\bstd\s*\[/.test(script);
}

function wrap(script: string): { head: string; tail: string } {
  // `$` inside the script is this outer object, so `$.input` and `$.util` work as in the Field Nation broker.
  return { head: '{ input: ', tail: `, util: ${utilFor(script)}, output: (\n${script}\n) }.output` };
}

export function prepareJsonnet(script: string): PreparedJsonnet {
  const { head, tail } = wrap(script);
  let compiled: CompiledScript | undefined;
  if (!usesUnportedStd(script)) {
    try {
      compiled = compile(`${head}null${tail}`, inputSlot);
    } catch {
      // A construct the engine does not parse (imports, destructuring...): jrsonnet evaluates this script.
      compiled = undefined;
    }
  }
  return { head, tail, compiled };
}

/** Parse check at compile time: the snippet is parsed whole, but lazily evaluated, so nothing runs. */
export function checkJsonnet(script: string): string | undefined {
  const p = wrap(script);
  const out = machine().evaluateSnippet(`local unused = ${p.head}null${p.tail}; null`);
  return out.trim() === 'null' ? undefined : out.trim();
}

/**
 * Evaluate a script with `input` as `$.input`; throws JsonnetError with jrsonnet's message. The
 * compile-once engine answers when it can; on any error or construct it does not evaluate, jrsonnet
 * evaluates the same record, so results and error messages are jrsonnet's.
 */
export function runJsonnet(script: string | PreparedJsonnet, input: unknown): unknown {
  const p = typeof script === 'string' ? prepareJsonnet(script) : script;
  if (p.compiled) {
    try {
      const out = run(p.compiled, [fromJs(input)]);
      jsonnetStats.compiled++;
      return out;
    } catch {
      jsonnetStats.fallbacks++;
    }
  }
  jsonnetStats.jrsonnet++;
  const out = machine().evaluateSnippet(p.head + JSON.stringify(input ?? null) + p.tail);
  // jrsonnet-wasm returns errors as text instead of throwing; a manifest is always valid JSON.
  try {
    return JSON.parse(out);
  } catch {
    throw new JsonnetError(out.trim());
  }
}
