// A grammar check of a SOQL WHERE condition, before the broker puts configured text into a query.
// It follows the conditionExpression of Salesforce's SOQL reference ("SOQL SELECT Syntax",
// "Comparison Operators", "Date Formats and Date Literals", "Semi-Join and Anti-Join"): field
// expressions joined by AND / OR / NOT with parentheses, AND and OR never mixed on one level
// without parentheses (Salesforce refuses that too), literals of every SOQL kind, and semi-joins.
// What it refuses is what turns a condition into something else: a `;`, a comment, an unbalanced
// parenthesis or quote, and any clause after the condition (ORDER BY, LIMIT, a second SELECT).
import { MAX_RELATIONSHIP_DEPTH } from './soql-builder';
import { SoqlTokenCursor } from './soql-token-cursor';

/** Salesforce caps a WHERE clause at 4,000 characters. */
export const MAX_CONDITION_LENGTH = 4_000;

export class SoqlConditionError extends Error {
  constructor(
    message: string,
    /** 0-based character offset in the condition. */
    readonly position: number,
  ) {
    super(message);
    this.name = 'SoqlConditionError';
  }
}

type TokenKind = 'ident' | 'string' | 'number' | 'date' | 'datetime' | 'punct' | 'eof';
interface Token {
  kind: TokenKind;
  text: string;
  pos: number;
}

const KEYWORDS = new Set([
  'and',
  'or',
  'not',
  'in',
  'like',
  'includes',
  'excludes',
  'null',
  'true',
  'false',
  'select',
  'from',
  'where',
  'order',
  'by',
  'limit',
  'offset',
  'group',
  'having',
  'with',
  'for',
  'using',
  'update',
  'view',
  'reference',
  'tracking',
  'all',
  'rows',
  'typeof',
]);
/** Words that begin a clause a trigger must not carry. */
const CLAUSES = new Set(['order', 'limit', 'offset', 'group', 'having', 'with', 'for', 'update', 'all', 'select', 'using']);
const OPERATORS = ['<=', '>=', '!=', '<>', '=', '<', '>'];
/** Date functions allowed around a field in a WHERE clause. */
const DATE_FUNCTIONS = new Set([
  'calendar_month',
  'calendar_quarter',
  'calendar_year',
  'day_in_month',
  'day_in_week',
  'day_in_year',
  'day_only',
  'fiscal_month',
  'fiscal_quarter',
  'fiscal_year',
  'hour_in_day',
  'week_in_month',
  'week_in_year',
]);
const DATE_LITERAL =
  /^(YESTERDAY|TODAY|TOMORROW|(LAST|THIS|NEXT)_(WEEK|MONTH|QUARTER|YEAR|FISCAL_QUARTER|FISCAL_YEAR)|(LAST|NEXT)_90_DAYS)$/i;
const DATE_LITERAL_N =
  /^((LAST|NEXT)_N_(DAYS|WEEKS|MONTHS|QUARTERS|YEARS|FISCAL_QUARTERS|FISCAL_YEARS)|N_(DAYS|WEEKS|MONTHS|QUARTERS|YEARS|FISCAL_QUARTERS|FISCAL_YEARS)_AGO)$/i;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER = /^[+-]?(\d+(\.\d+)?|\.\d+)(?![\w.])/;
/** Currency literal of multi-currency orgs, e.g. USD5000. */
const CURRENCY = /^[A-Z]{3}\d+(\.\d+)?$/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/;
const STRING_ESCAPES = new Set(['n', 'r', 't', 'b', 'f', '"', "'", '\\', '_', '%']);

function describe(t: Token): string {
  return t.kind === 'eof' ? 'the end of the condition' : `"${t.text}"`;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    if (c === "'") {
      let j = i + 1;
      while (j < text.length && text[j] !== "'") {
        if (text[j] === '\\') {
          const e = text[j + 1];
          if (e === undefined || !STRING_ESCAPES.has(e))
            throw new SoqlConditionError(`invalid escape sequence "\\${e ?? ''}" in a string`, j);
          j += 2;
        } else if (text[j] === '\n' || text[j] === '\r') {
          throw new SoqlConditionError('a string literal runs past the end of a line (unbalanced quote?)', i);
        } else j++;
      }
      if (j >= text.length) throw new SoqlConditionError("a string literal is not closed (unbalanced ')", i);
      tokens.push({ kind: 'string', text: text.slice(i, j + 1), pos: i });
      i = j + 1;
      continue;
    }
    const dt = DATETIME.exec(rest) ?? DATE.exec(rest);
    if (dt) {
      tokens.push({ kind: dt[0].includes('T') ? 'datetime' : 'date', text: dt[0], pos: i });
      i += dt[0].length;
      continue;
    }
    const num = NUMBER.exec(rest);
    // A sign belongs to a number only where a value is expected (after an operator, `(` or `,`).
    if (num && (/\d|\./.test(c) || ['punct'].includes(tokens.at(-1)?.kind ?? ''))) {
      tokens.push({ kind: 'number', text: num[0], pos: i });
      i += num[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => rest.startsWith(o));
    if (op) {
      tokens.push({ kind: 'punct', text: op, pos: i });
      i += op.length;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === ':') {
      tokens.push({ kind: 'punct', text: c, pos: i });
      i++;
      continue;
    }
    const id = IDENT.exec(rest);
    if (id) {
      tokens.push({ kind: 'ident', text: id[0], pos: i });
      i += id[0].length;
      continue;
    }
    if (c === ';') throw new SoqlConditionError('";" is not SOQL: a trigger is one condition, not statements', i);
    if (c === '"') throw new SoqlConditionError('SOQL strings are in single quotes', i);
    if (rest.startsWith('--') || rest.startsWith('/*') || rest.startsWith('//')) throw new SoqlConditionError('SOQL has no comments', i);
    throw new SoqlConditionError(`unexpected character "${c}"`, i);
  }
  tokens.push({ kind: 'eof', text: '', pos: text.length });
  return tokens;
}

class ConditionParser extends SoqlTokenCursor<Token> {
  private word(offset = 0): string | undefined {
    const t = this.peek(offset);
    return t.kind === 'ident' ? t.text.toLowerCase() : undefined;
  }
  private fail(t: Token, expected: string): never {
    if (t.kind === 'ident' && CLAUSES.has(t.text.toLowerCase())) {
      throw new SoqlConditionError(
        `${t.text.toUpperCase()} is not allowed: a trigger is a WHERE condition only (no ORDER BY, LIMIT or second statement)`,
        t.pos,
      );
    }
    if (t.kind === 'punct' && t.text === ')') throw new SoqlConditionError('unbalanced ")"', t.pos);
    throw new SoqlConditionError(`expected ${expected}, found ${describe(t)}`, t.pos);
  }
  private expectPunct(p: string, expected = `"${p}"`): void {
    if (!this.isPunct(p)) this.fail(this.peek(), expected);
    this.next();
  }

  /** The whole text: one condition and nothing after it. */
  parseAll(): void {
    this.condition();
    const end = this.peek();
    if (end.kind !== 'eof') this.fail(end, 'AND, OR or the end of the condition');
  }

  private condition(): void {
    this.unary();
    const connective = this.word();
    if (connective !== 'and' && connective !== 'or') return;
    while (this.word() === connective) {
      this.next();
      this.unary();
    }
    const other = this.word();
    if (other === 'and' || other === 'or') {
      throw new SoqlConditionError(
        `AND and OR are mixed without parentheses (Salesforce refuses that): group them, e.g. A AND (B OR C)`,
        this.peek().pos,
      );
    }
  }

  private unary(): void {
    if (this.word() === 'not') {
      this.next();
      this.unary();
      return;
    }
    if (this.isPunct('(')) {
      const open = this.next();
      this.condition();
      if (!this.isPunct(')')) {
        if (this.peek().kind === 'eof') throw new SoqlConditionError('unbalanced "(": it is never closed', open.pos);
        this.fail(this.peek(), '")"');
      }
      this.next();
      return;
    }
    this.fieldExpression();
  }

  private field(): void {
    const t = this.peek();
    const name = this.word();
    if (name && DATE_FUNCTIONS.has(name) && this.peek(1).kind === 'punct' && this.peek(1).text === '(') {
      this.next();
      this.next();
      if (this.word() === 'converttimezone') {
        this.next();
        this.expectPunct('(');
        this.fieldPath();
        this.expectPunct(')');
      } else this.fieldPath();
      this.expectPunct(')');
      return;
    }
    if (t.kind !== 'ident') this.fail(t, 'a field name');
    this.fieldPath();
  }

  private fieldPath(): void {
    const t = this.next();
    if (t.kind !== 'ident' || KEYWORDS.has(t.text.toLowerCase())) this.fail(t, 'a field name');
    if (t.text.split('.').length - 1 > MAX_RELATIONSHIP_DEPTH) {
      throw new SoqlConditionError(
        `"${t.text}" goes ${t.text.split('.').length - 1} relationships deep; Salesforce allows ${MAX_RELATIONSHIP_DEPTH}`,
        t.pos,
      );
    }
  }

  private fieldExpression(): void {
    this.field();
    const t = this.peek();
    if (t.kind === 'punct' && OPERATORS.includes(t.text)) {
      this.next();
      this.value();
      return;
    }
    const w = this.word();
    if (w === 'like') {
      this.next();
      const p = this.next();
      if (p.kind !== 'string') this.fail(p, 'a quoted pattern after LIKE');
      return;
    }
    if (w === 'not' && this.word(1) === 'in') this.next();
    if (w === 'in' || w === 'not' || w === 'includes' || w === 'excludes') {
      this.next();
      this.list(w === 'in' || w === 'not');
      return;
    }
    this.fail(t, 'a comparison operator (=, !=, <, <=, >, >=, LIKE, IN, NOT IN, INCLUDES, EXCLUDES)');
  }

  /** `( value, … )`, or for IN / NOT IN a semi-join `( SELECT field FROM Object [WHERE …] )`. */
  private list(semiJoin: boolean): void {
    this.expectPunct('(', '"(" and a list of values');
    if (semiJoin && this.word() === 'select') {
      this.next();
      this.fieldPath();
      if (this.word() !== 'from') this.fail(this.peek(), 'FROM (a semi-join selects one field)');
      this.next();
      const object = this.next();
      if (object.kind !== 'ident' || object.text.includes('.') || KEYWORDS.has(object.text.toLowerCase()))
        this.fail(object, 'an object name');
      if (this.word() === 'where') {
        this.next();
        this.condition();
      }
      this.expectPunct(')', '")" closing the subquery');
      return;
    }
    this.value();
    while (this.isPunct(',')) {
      this.next();
      this.value();
    }
    this.expectPunct(')', '"," or ")"');
  }

  private value(): void {
    const t = this.next();
    if (t.kind === 'string' || t.kind === 'number' || t.kind === 'date' || t.kind === 'datetime') return;
    if (t.kind === 'ident') {
      const w = t.text.toLowerCase();
      if (w === 'null' || w === 'true' || w === 'false') return;
      if (DATE_LITERAL.test(t.text)) return;
      if (DATE_LITERAL_N.test(t.text)) {
        this.expectPunct(':', `":n" after ${t.text}`);
        const n = this.next();
        if (n.kind !== 'number' || !/^\d+$/.test(n.text)) this.fail(n, `a whole number after ${t.text}:`);
        return;
      }
      if (CURRENCY.test(t.text)) return;
    }
    this.fail(t, 'a value (a quoted string, number, true, false, null, date, datetime or date literal)');
  }
}

/**
 * Check that `condition` is one SOQL WHERE condition and nothing more; throws SoqlConditionError
 * (with the character position) otherwise. Field names are not checked against an org's schema:
 * Salesforce answers an unknown field with INVALID_FIELD on the first query.
 */
export function checkSoqlCondition(condition: string): string {
  if (!condition.trim()) throw new SoqlConditionError('the condition is empty', 0);
  if (condition.length > MAX_CONDITION_LENGTH)
    throw new SoqlConditionError(
      `the condition has ${condition.length} characters; Salesforce allows ${MAX_CONDITION_LENGTH}`,
      MAX_CONDITION_LENGTH,
    );
  new ConditionParser(tokenize(condition)).parseAll();
  return condition;
}
