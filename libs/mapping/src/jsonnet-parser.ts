/**
 * A Jsonnet parser for the compile-once engine (jsonnet-engine.ts), following jrsonnet's grammar
 * (jrsonnet-parser 0.5.0-pre95, the version inside @arakoodev/jsonnet): the same precedence table
 * (`^` right-associative, `in` among the comparisons), the same string escapes (no `\/`), the same
 * text blocks (no `|||-`). It only has to agree with jrsonnet on programs jrsonnet accepts: syntax
 * errors are reported by jrsonnet at config load, and anything this parser does not know (imports,
 * destructuring, a standalone `super`, `\x` escapes...) throws Unsupported, which sends the script
 * to jrsonnet instead. It never guesses.
 */

export class Unsupported extends Error {}

export type Vis = 0 | 1 | 2; // `:` inherit, `::` hidden, `:::` visible

export interface Param {
  name: string;
  def: Node | undefined;
}
export interface Bind {
  name: string;
  /** A `local f(x) = ...` bind: the value is a function. */
  params: Param[] | undefined;
  body: Node;
}
export interface FieldNode {
  /** A fixed name, or an expression evaluated when the object is built. */
  name: string | Node;
  plus: boolean;
  vis: Vis;
  params: Param[] | undefined;
  body: Node;
}
export type CompSpec = { for: string; in: Node } | { if: Node };

export type Node =
  | { t: 'lit'; v: null | boolean | number | string }
  | { t: 'self' }
  | { t: 'dollar' }
  | { t: 'var'; name: string }
  | { t: 'superIndex'; index: Node }
  | { t: 'inSuper'; key: Node }
  | { t: 'index'; target: Node; index: Node }
  | { t: 'slice'; target: Node; start?: Node; end?: Node; step?: Node }
  | { t: 'local'; binds: Bind[]; body: Node }
  | { t: 'obj'; fields: FieldNode[]; locals: Bind[]; asserts: { cond: Node; msg?: Node }[] }
  | { t: 'objComp'; field: FieldNode; locals: Bind[]; specs: CompSpec[] }
  | { t: 'arr'; items: Node[] }
  | { t: 'arrComp'; body: Node; specs: CompSpec[] }
  | { t: 'apply'; fn: Node; args: Node[]; named: [string, Node][]; tailstrict: boolean }
  | { t: 'fn'; params: Param[]; body: Node }
  | { t: 'bin'; op: string; l: Node; r: Node }
  | { t: 'un'; op: string; e: Node }
  | { t: 'if'; cond: Node; then: Node; else?: Node }
  | { t: 'error'; e: Node }
  | { t: 'assert'; cond: Node; msg?: Node; rest: Node }
  | { t: 'extend'; target: Node; obj: Node }
  | { t: 'external'; slot: number };

type Tok = { k: 'id' | 'kw' | 'num' | 'str' | 'op' | 'eof'; v: string; n?: number; pos: number };

const KEYWORDS = new Set([
  'assert',
  'else',
  'error',
  'false',
  'for',
  'function',
  'if',
  'import',
  'importstr',
  'importbin',
  'in',
  'local',
  'null',
  'tailstrict',
  'then',
  'self',
  'super',
  'true',
]);
const OPS = [
  ':::',
  '::',
  '==',
  '!=',
  '<=',
  '>=',
  '<<',
  '>>',
  '&&',
  '||',
  ':',
  '+',
  '-',
  '*',
  '/',
  '%',
  '<',
  '>',
  '!',
  '~',
  '&',
  '|',
  '^',
  '=',
];
const PUNCT = new Set(['{', '}', '[', ']', '(', ')', ',', '.', ';']);

const isIdStart = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isIdChar = (c: string) => isIdStart(c) || isDigit(c);
const isWs = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

function lex(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const n = src.length;
  const skipComment = (): boolean => {
    if (src.startsWith('//', i) || src[i] === '#') {
      while (i < n && src[i] !== '\n') i++;
      if (i < n) i++;
      return true;
    }
    if (src.startsWith('/*', i)) {
      i += 2;
      for (;;) {
        if (i >= n) throw new Unsupported('unterminated comment');
        if (src.startsWith('\\*/', i)) i += 3;
        else if (src.startsWith('\\\\', i)) i += 2;
        else if (src.startsWith('*/', i)) {
          i += 2;
          return true;
        } else i++;
      }
    }
    return false;
  };
  while (i < n) {
    const c = src[i]!;
    if (isWs(c)) {
      i++;
      continue;
    }
    if (skipComment()) continue;
    const pos = i;
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isIdChar(src[j]!)) j++;
      const word = src.slice(i, j);
      toks.push({ k: KEYWORDS.has(word) ? 'kw' : 'id', v: word, pos });
      i = j;
      continue;
    }
    if (isDigit(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i, i + 400))!;
      toks.push({ k: 'num', v: m[0], n: Number(m[0]), pos });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let out = '';
      for (;;) {
        if (j >= n) throw new Unsupported('unterminated string');
        const d = src[j]!;
        if (d === c) break;
        if (d !== '\\') {
          out += d;
          j++;
          continue;
        }
        const e = src[j + 1];
        j += 2;
        if (e === '\\' || e === '"' || e === "'") out += e;
        else if (e === 'b') out += '\b';
        else if (e === 'f') out += '\f';
        else if (e === 'n') out += '\n';
        else if (e === 'r') out += '\r';
        else if (e === 't') out += '\t';
        else if (e === 'u') {
          const hex = src.slice(j, j + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new Unsupported('bad \\u escape');
          const u = parseInt(hex, 16);
          j += 4;
          if (u >= 0xdc00 && u <= 0xdfff) throw new Unsupported('lone low surrogate');
          if (u >= 0xd800 && u <= 0xdbff) {
            const lo = src.slice(j, j + 6);
            if (!/^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(lo)) throw new Unsupported('lone high surrogate');
            out += String.fromCharCode(u, parseInt(lo.slice(2), 16));
            j += 6;
          } else out += String.fromCharCode(u);
        } else throw new Unsupported(`escape \\${e ?? ''}`); // \x is mis-decoded by jrsonnet: leave it to jrsonnet
      }
      toks.push({ k: 'str', v: out, pos });
      i = j + 1;
      continue;
    }
    if (c === '@' && (src[i + 1] === '"' || src[i + 1] === "'")) {
      const q = src[i + 1]!;
      let j = i + 2;
      let out = '';
      for (;;) {
        if (j >= n) throw new Unsupported('unterminated verbatim string');
        if (src[j] === q) {
          if (src[j + 1] === q) {
            out += q;
            j += 2;
            continue;
          }
          break;
        }
        out += src[j];
        j++;
      }
      toks.push({ k: 'str', v: out, pos });
      i = j + 1;
      continue;
    }
    if (src.startsWith('|||', i)) {
      const r = textBlock(src, i);
      toks.push({ k: 'str', v: r.text, pos });
      i = r.end;
      continue;
    }
    if (c === '$') {
      if (i + 1 < n && isIdChar(src[i + 1]!)) throw new Unsupported('$ followed by an identifier');
      toks.push({ k: 'kw', v: '$', pos });
      i++;
      continue;
    }
    if (PUNCT.has(c)) {
      toks.push({ k: 'op', v: c, pos });
      i++;
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) throw new Unsupported(`unexpected character ${JSON.stringify(c)}`);
    toks.push({ k: 'op', v: op, pos });
    i += op.length;
  }
  toks.push({ k: 'eof', v: '', pos: n });
  return toks;
}

/** jrsonnet's string_block rule, character for character. */
function textBlock(src: string, start: number): { text: string; end: number } {
  let i = start + 3;
  // Whitespace and comments up to the first newline.
  for (;;) {
    const c = src[i];
    if (c === '\n') break;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '/' && src[i + 1] === '*') {
      const e = src.indexOf('*/', i + 2);
      if (e < 0) throw new Unsupported('text block');
      if (src.slice(i, e).includes('\\')) throw new Unsupported('text block comment with escapes');
      i = e + 2;
      continue;
    }
    throw new Unsupported('text block header');
  }
  i++;
  let text = '';
  while (src[i] === '\n') {
    text += '\n';
    i++;
  }
  let p = 0;
  while (src[i + p] === ' ' || src[i + p] === '\t') p++;
  if (p === 0) throw new Unsupported('text block without indentation');
  const line = (from: number) => {
    const e = src.indexOf('\n', from);
    if (e < 0) throw new Unsupported('text block not closed');
    return e + 1;
  };
  let e = line(i + p);
  text += src.slice(i + p, e);
  i = e;
  for (;;) {
    if (src[i] === '\n') {
      text += '\n';
      i++;
      continue;
    }
    let k = 0;
    while (k < p && (src[i + k] === ' ' || src[i + k] === '\t')) k++;
    if (k < p) break;
    // peg would try a whole line first; a line of exactly the prefix followed by ||| is still a line only if it ends in \n.
    const nl = src.indexOf('\n', i + p);
    if (nl < 0) break;
    e = nl + 1;
    text += src.slice(i + p, e);
    i = e;
  }
  let k = 0;
  while (k < p - 1 && (src[i + k] === ' ' || src[i + k] === '\t')) k++;
  if (!src.startsWith('|||', i + k)) throw new Unsupported('text block closing');
  return { text, end: i + k + 3 };
}

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}

  private peek(o = 0): Tok {
    return this.toks[Math.min(this.i + o, this.toks.length - 1)]!;
  }
  private next(): Tok {
    return this.toks[this.i++]!;
  }
  private isOp(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t.k === 'op' && t.v === v;
  }
  private isKw(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t.k === 'kw' && t.v === v;
  }
  private expectOp(v: string): void {
    const t = this.next();
    if (t.k !== 'op' || t.v !== v) throw new Unsupported(`expected ${v} at ${t.pos}`);
  }
  private expectKw(v: string): void {
    const t = this.next();
    if (t.k !== 'kw' || t.v !== v) throw new Unsupported(`expected ${v} at ${t.pos}`);
  }
  private ident(): string {
    const t = this.next();
    if (t.k !== 'id') throw new Unsupported(`expected an identifier at ${t.pos}`);
    return t.v;
  }

  program(): Node {
    const e = this.expr();
    if (this.peek().k !== 'eof') throw new Unsupported(`trailing input at ${this.peek().pos}`);
    return e;
  }

  // Binary levels, loosest first; `^` is right-associative as in jrsonnet.
  private static readonly LEVELS: string[][] = [
    ['||'],
    ['&&'],
    ['|'],
    ['^'],
    ['&'],
    ['==', '!='],
    ['<', '>', '<=', '>=', 'in'],
    ['<<', '>>'],
    ['+', '-'],
    ['*', '/', '%'],
  ];

  expr(level = 0): Node {
    if (level === Parser.LEVELS.length) return this.unary();
    const ops = Parser.LEVELS[level]!;
    const matchOp = (): string | undefined => {
      const t = this.peek();
      if (t.k === 'op' && ops.includes(t.v)) return t.v;
      if (t.k === 'kw' && t.v === 'in' && ops.includes('in')) return 'in';
      return undefined;
    };
    let l = this.expr(level + 1);
    if (ops[0] === '^') {
      if (matchOp()) {
        this.next();
        return { t: 'bin', op: '^', l, r: this.expr(level) };
      }
      return l;
    }
    for (let op = matchOp(); op; op = matchOp()) {
      this.next();
      if (op === 'in' && this.isKw('super')) {
        // `e in super` (jrsonnet evaluates a standalone super; only this form is supported here).
        const save = this.i;
        this.next();
        const t = this.peek();
        if ((t.k === 'op' && (t.v === '.' || t.v === '[' || t.v === '(' || t.v === '{')) || false) {
          this.i = save;
        } else {
          l = { t: 'inSuper', key: l };
          continue;
        }
      }
      const r = this.expr(level + 1);
      l = { t: 'bin', op, l, r };
    }
    return l;
  }

  private unary(): Node {
    const t = this.peek();
    if (t.k === 'op' && (t.v === '+' || t.v === '-' || t.v === '!' || t.v === '~')) {
      this.next();
      return { t: 'un', op: t.v, e: this.unary() };
    }
    return this.postfix();
  }

  private postfix(): Node {
    let e: Node;
    if (this.isKw('super')) {
      this.next();
      if (this.isOp('.')) {
        this.next();
        e = { t: 'superIndex', index: { t: 'lit', v: this.ident() } };
      } else if (this.isOp('[')) {
        this.next();
        if (this.isOp(':') || this.isOp('::')) throw new Unsupported('slice of super');
        const index = this.expr();
        if (!this.isOp(']')) throw new Unsupported('slice of super');
        this.next();
        e = { t: 'superIndex', index };
      } else throw new Unsupported('standalone super');
    } else e = this.primary();
    for (;;) {
      if (this.isOp('.')) {
        this.next();
        e = { t: 'index', target: e, index: { t: 'lit', v: this.ident() } };
      } else if (this.isOp('[')) {
        this.next();
        e = this.indexOrSlice(e);
      } else if (this.isOp('(')) {
        this.next();
        const { args, named } = this.args();
        let tailstrict = false;
        if (this.isKw('tailstrict')) {
          this.next();
          tailstrict = true;
        }
        e = { t: 'apply', fn: e, args, named, tailstrict };
      } else if (this.isOp('{')) {
        this.next();
        e = { t: 'extend', target: e, obj: this.objInside() };
      } else return e;
    }
  }

  private indexOrSlice(target: Node): Node {
    // After `[`: an index `e]` or a slice `a?:b?(:c?)?]` (`::` lexes as one token).
    const parts: (Node | undefined)[] = [];
    let colons = 0;
    let cur: Node | undefined;
    for (;;) {
      if (this.isOp(']')) {
        this.next();
        break;
      }
      if (this.isOp(':')) {
        this.next();
        parts.push(cur);
        cur = undefined;
        colons++;
        continue;
      }
      if (this.isOp('::')) {
        this.next();
        parts.push(cur, undefined);
        cur = undefined;
        colons += 2;
        continue;
      }
      if (cur) throw new Unsupported('bad index');
      cur = this.expr();
    }
    parts.push(cur);
    if (colons === 0) {
      if (!cur) throw new Unsupported('empty index');
      return { t: 'index', target, index: cur };
    }
    if (colons > 2) throw new Unsupported('bad slice');
    return { t: 'slice', target, start: parts[0], end: parts[1], step: parts[2] };
  }

  private args(): { args: Node[]; named: [string, Node][] } {
    const args: Node[] = [];
    const named: [string, Node][] = [];
    while (!this.isOp(')')) {
      if (this.peek().k === 'id' && this.isOp('=', 1)) {
        const name = this.ident();
        this.next();
        named.push([name, this.expr()]);
      } else {
        if (named.length) throw new Unsupported('positional argument after a named one');
        args.push(this.expr());
      }
      if (!this.isOp(',')) break;
      this.next();
    }
    this.expectOp(')');
    return { args, named };
  }

  private params(): Param[] {
    const params: Param[] = [];
    while (!this.isOp(')')) {
      const name = this.ident();
      let def: Node | undefined;
      if (this.isOp('=')) {
        this.next();
        def = this.expr();
      }
      params.push({ name, def });
      if (!this.isOp(',')) break;
      this.next();
    }
    this.expectOp(')');
    return params;
  }

  private bind(): Bind {
    const name = this.ident();
    if (this.isOp('(')) {
      this.next();
      const params = this.params();
      this.expectOp('=');
      return { name, params, body: this.expr() };
    }
    this.expectOp('=');
    return { name, params: undefined, body: this.expr() };
  }

  private primary(): Node {
    const t = this.next();
    switch (t.k) {
      case 'num':
        return { t: 'lit', v: t.n! };
      case 'str':
        return { t: 'lit', v: t.v };
      case 'id':
        return { t: 'var', name: t.v };
      case 'op':
        if (t.v === '(') {
          const e = this.expr();
          this.expectOp(')');
          return e;
        }
        if (t.v === '{') return this.objInside();
        if (t.v === '[') return this.array();
        break;
      case 'kw':
        switch (t.v) {
          case 'null':
            return { t: 'lit', v: null };
          case 'true':
            return { t: 'lit', v: true };
          case 'false':
            return { t: 'lit', v: false };
          case 'self':
            return { t: 'self' };
          case '$':
            return { t: 'dollar' };
          case 'local': {
            const binds = [this.bind()];
            while (this.isOp(',')) {
              this.next();
              if (this.isOp(';')) break;
              binds.push(this.bind());
            }
            this.expectOp(';');
            return { t: 'local', binds, body: this.expr() };
          }
          case 'if': {
            const cond = this.expr();
            this.expectKw('then');
            const then = this.expr();
            if (this.isKw('else')) {
              this.next();
              return { t: 'if', cond, then, else: this.expr() };
            }
            return { t: 'if', cond, then };
          }
          case 'function': {
            this.expectOp('(');
            const params = this.params();
            return { t: 'fn', params, body: this.expr() };
          }
          case 'assert': {
            const cond = this.expr();
            let msg: Node | undefined;
            if (this.isOp(':')) {
              this.next();
              msg = this.expr();
            }
            this.expectOp(';');
            return { t: 'assert', cond, msg, rest: this.expr() };
          }
          case 'error':
            return { t: 'error', e: this.expr() };
        }
    }
    throw new Unsupported(`unexpected ${t.v || t.k} at ${t.pos}`);
  }

  private array(): Node {
    if (this.isOp(']')) {
      this.next();
      return { t: 'arr', items: [] };
    }
    const first = this.expr();
    if (this.isOp(',') && this.isKw('for', 1)) this.next();
    if (this.isKw('for')) {
      const specs = this.compSpecs();
      this.expectOp(']');
      return { t: 'arrComp', body: first, specs };
    }
    const items = [first];
    while (this.isOp(',')) {
      this.next();
      if (this.isOp(']')) break;
      items.push(this.expr());
    }
    this.expectOp(']');
    return { t: 'arr', items };
  }

  private compSpecs(): CompSpec[] {
    const specs: CompSpec[] = [];
    for (;;) {
      if (this.isKw('for')) {
        this.next();
        const name = this.ident();
        this.expectKw('in');
        specs.push({ for: name, in: this.expr() });
      } else if (this.isKw('if')) {
        this.next();
        specs.push({ if: this.expr() });
      } else return specs;
    }
  }

  private fieldName(): string | Node {
    const t = this.next();
    if (t.k === 'id' || t.k === 'str') return t.v;
    if (t.k === 'op' && t.v === '[') {
      const e = this.expr();
      this.expectOp(']');
      return e;
    }
    throw new Unsupported(`bad field name at ${t.pos}`);
  }

  private field(): FieldNode {
    const name = this.fieldName();
    let params: Param[] | undefined;
    let plus = false;
    if (this.isOp('(')) {
      this.next();
      params = this.params();
    } else if (this.isOp('+')) {
      this.next();
      plus = true;
    }
    const t = this.next();
    const vis: Vis | undefined = t.k === 'op' ? ({ ':': 0, '::': 1, ':::': 2 } as Record<string, Vis>)[t.v] : undefined;
    if (vis === undefined) throw new Unsupported(`expected : at ${t.pos}`);
    return { name, plus, vis, params, body: this.expr() };
  }

  /** After `{`: a member list or an object comprehension, up to and including `}`. */
  private objInside(): Node {
    const fields: FieldNode[] = [];
    const locals: Bind[] = [];
    const asserts: { cond: Node; msg?: Node }[] = [];
    const order: ('f' | 'l' | 'a')[] = [];
    while (!this.isOp('}')) {
      if (this.isKw('local')) {
        this.next();
        locals.push(this.bind());
        order.push('l');
      } else if (this.isKw('assert')) {
        this.next();
        const cond = this.expr();
        let msg: Node | undefined;
        if (this.isOp(':')) {
          this.next();
          msg = this.expr();
        }
        asserts.push({ cond, msg });
        order.push('a');
      } else {
        fields.push(this.field());
        order.push('f');
      }
      if (this.isOp(',') && this.isKw('for', 1)) this.next();
      if (this.isKw('for')) {
        // An object comprehension: exactly one computed field, locals around it, no asserts.
        if (fields.length !== 1 || asserts.length || typeof fields[0]!.name === 'string') throw new Unsupported('object comprehension');
        const specs = this.compSpecs();
        this.expectOp('}');
        return { t: 'objComp', field: fields[0]!, locals, specs };
      }
      if (!this.isOp(',')) break;
      this.next();
    }
    this.expectOp('}');
    return { t: 'obj', fields, locals, asserts };
  }
}

export function parseJsonnet(src: string): Node {
  return new Parser(lex(src)).program();
}
