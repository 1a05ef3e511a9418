import { malformedQuery } from '../core/sf-error';

export type TokenKind = 'ident' | 'string' | 'number' | 'date' | 'datetime' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  text: string;
  /** String value for strings (unescaped), identifier text otherwise. */
  value: string;
  pos: number;
}

const DATETIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})/;
const DATE_RE = /^\d{4}-\d{2}-\d{2}(?![\w:])/;
const NUMBER_RE = /^-?\d+(\.\d+)?(?![\w])/;
const IDENT_RE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/;
/** Tried in this order: a datetime starts like a date, a date like a number. */
const WORDS: [TokenKind, RegExp][] = [
  ['datetime', DATETIME_RE],
  ['date', DATE_RE],
  ['number', NUMBER_RE],
  ['ident', IDENT_RE],
];
const PUNCT = ['!=', '<>', '<=', '>=', '=', '<', '>', '(', ')', ',', ':'];

/** Salesforce points at the offending token: the statement, a caret, then Row/Column. */
export function syntaxError(soql: string, pos: number, message: string): Error {
  const before = soql.slice(0, pos);
  const row = before.split('\n').length;
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = soql.slice(lineStart).split('\n')[0] ?? '';
  const col = pos - lineStart + 1;
  return malformedQuery(`${line}\n${' '.repeat(Math.max(0, col - 1))}^\nERROR at Row:${row}:Column:${col}\n${message}`);
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  r: '\r',
  t: '\t',
  b: '\b',
  f: '\f',
  '"': '"',
  "'": "'",
  '\\': '\\',
  _: '\\_',
  '%': '\\%',
};

function matchWord(rest: string): { kind: TokenKind; text: string } | undefined {
  for (const [kind, re] of WORDS) {
    const m = re.exec(rest);
    if (m) return { kind, text: m[0] };
  }
  return undefined;
}

export function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < soql.length) {
    const ch = soql[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const rest = soql.slice(i);
    if (ch === "'") {
      let j = i + 1;
      let value = '';
      for (;;) {
        if (j >= soql.length) throw syntaxError(soql, i, `line 1:${i} mismatched character '<EOF>' expecting '''`);
        const c = soql[j]!;
        if (c === '\\') {
          const next = soql[j + 1] ?? '';
          const mapped = ESCAPES[next];
          if (mapped === undefined)
            throw syntaxError(
              soql,
              j,
              `Invalid string literal '${soql.slice(i, j + 2)}'. Illegal character sequence '\\${next}' in string literal.`,
            );
          value += mapped;
          j += 2;
          continue;
        }
        if (c === "'") break;
        value += c;
        j++;
      }
      tokens.push({ kind: 'string', text: soql.slice(i, j + 1), value, pos: i });
      i = j + 1;
      continue;
    }
    const word = matchWord(rest);
    if (word) {
      tokens.push({ ...word, value: word.text, pos: i });
      i += word.text.length;
      continue;
    }
    const p = PUNCT.find((x) => rest.startsWith(x));
    if (p) {
      tokens.push({ kind: 'punct', text: p, value: p, pos: i });
      i += p.length;
      continue;
    }
    throw syntaxError(soql, i, `line 1:${i} no viable alternative at character '${ch}'`);
  }
  tokens.push({ kind: 'eof', text: '<EOF>', value: '', pos: soql.length });
  return tokens;
}
