import { SoqlTokenCursor } from '@broker/salesforce';
import type { Condition, FieldRef, Literal, OrderItem, SelectItem, SoqlQuery } from './soql-ast';
import { syntaxError, tokenize, type Token } from './soql-lexer';
import { isDateLiteralName, dateLiteralTakesN } from './date-literals';

const RESERVED = new Set([
  'select',
  'from',
  'where',
  'and',
  'or',
  'not',
  'in',
  'like',
  'order',
  'by',
  'limit',
  'offset',
  'null',
  'true',
  'false',
  'group',
  'having',
  'nulls',
  'asc',
  'desc',
  'with',
  'for',
  'using',
  'includes',
  'excludes',
]);
const UNSUPPORTED_CLAUSES = new Set(['group', 'having', 'with', 'for', 'using', 'typeof', 'includes', 'excludes']);

/** Recursive-descent parser for the SOQL subset the simulator serves. */
class Parser extends SoqlTokenCursor<Token> {
  constructor(
    private readonly soql: string,
    tokens: Token[],
  ) {
    super(tokens);
  }

  private isKeyword(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.kind === 'ident' && t.value.toLowerCase() === word;
  }

  private fail(t: Token, message?: string): never {
    throw syntaxError(this.soql, t.pos, message ?? `unexpected token: ${t.kind === 'eof' ? '<EOF>' : t.text}`);
  }

  private expectKeyword(word: string): Token {
    if (!this.isKeyword(word)) this.fail(this.peek());
    return this.next();
  }

  private expectPunct(p: string): Token {
    if (!this.isPunct(p)) this.fail(this.peek());
    return this.next();
  }

  parse(): SoqlQuery {
    this.expectKeyword('select');
    const select = this.parseSelectList();
    this.expectKeyword('from');
    const fromTok = this.next();
    if (fromTok.kind !== 'ident' || fromTok.value.includes('.') || RESERVED.has(fromTok.value.toLowerCase())) this.fail(fromTok);
    const from: SoqlQuery['from'] = { name: fromTok.value, pos: fromTok.pos };
    const maybeAlias = this.peek();
    if (maybeAlias.kind === 'ident' && !RESERVED.has(maybeAlias.value.toLowerCase()) && !maybeAlias.value.includes('.')) {
      from.alias = maybeAlias.value;
      this.next();
    }
    const query: SoqlQuery = { text: this.soql, select, from, orderBy: [] };
    if (this.isKeyword('where')) {
      this.next();
      query.where = this.parseCondition();
    }
    if (this.isKeyword('order')) {
      this.next();
      this.expectKeyword('by');
      query.orderBy = this.parseOrderBy();
    }
    if (this.isKeyword('limit')) {
      this.next();
      query.limit = this.parseNonNegativeInt();
    }
    if (this.isKeyword('offset')) {
      this.next();
      query.offset = this.parseNonNegativeInt();
    }
    const end = this.peek();
    if (end.kind !== 'eof') {
      if (end.kind === 'ident' && UNSUPPORTED_CLAUSES.has(end.value.toLowerCase()))
        this.fail(end, `unexpected token: ${end.text} (not supported by the simulator)`);
      this.fail(end);
    }
    return query;
  }

  private parseNonNegativeInt(): number {
    const t = this.next();
    if (t.kind !== 'number' || !/^\d+$/.test(t.value)) this.fail(t);
    return Number(t.value);
  }

  private parseSelectList(): SelectItem[] {
    const items: SelectItem[] = [];
    do {
      const t = this.peek();
      if (this.isKeyword('count') && this.peek(1).kind === 'punct' && this.peek(1).value === '(') {
        this.next();
        this.next();
        if (!this.isPunct(')')) this.fail(this.peek(), `unexpected token: ${this.peek().text} (only COUNT() is supported)`);
        this.next();
        items.push({ kind: 'count', pos: t.pos });
      } else if (this.isPunct('(')) {
        this.fail(t, 'unexpected token: ( (parent-to-child subqueries are not supported by the simulator)');
      } else {
        if (t.kind !== 'ident' || RESERVED.has(t.value.toLowerCase())) this.fail(t);
        this.next();
        items.push({ kind: 'field', path: t.value.split('.'), pos: t.pos });
      }
      if (!this.isPunct(',')) break;
      this.next();
    } while (true);
    return items;
  }

  private parseFieldRef(): FieldRef {
    const t = this.next();
    if (t.kind !== 'ident' || RESERVED.has(t.value.toLowerCase())) this.fail(t);
    return { path: t.value.split('.'), pos: t.pos };
  }

  /** SOQL requires parentheses when AND and OR are mixed, so each level has one connective. */
  private parseCondition(): Condition {
    const first = this.parseUnary();
    if (!this.isKeyword('and') && !this.isKeyword('or')) return first;
    const connective = this.peek().value.toLowerCase() as 'and' | 'or';
    const items = [first];
    while (this.isKeyword(connective)) {
      this.next();
      items.push(this.parseUnary());
    }
    if (this.isKeyword(connective === 'and' ? 'or' : 'and')) this.fail(this.peek());
    return { kind: connective, items };
  }

  private parseUnary(): Condition {
    if (this.isKeyword('not')) {
      this.next();
      return { kind: 'not', item: this.parseUnary() };
    }
    if (this.isPunct('(')) {
      this.next();
      const inner = this.parseCondition();
      this.expectPunct(')');
      return inner;
    }
    return this.parseComparison();
  }

  private parseComparison(): Condition {
    const field = this.parseFieldRef();
    const t = this.peek();
    if (t.kind === 'punct' && ['=', '!=', '<>', '<', '>', '<=', '>='].includes(t.value)) {
      this.next();
      const valuePos = this.peek().pos;
      const op = (t.value === '<>' ? '!=' : t.value) as '=' | '!=' | '<' | '>' | '<=' | '>=';
      return { kind: 'cmp', field, op, value: this.parseLiteral(), valuePos };
    }
    if (this.isKeyword('like')) {
      this.next();
      const p = this.next();
      if (p.kind !== 'string') this.fail(p);
      return { kind: 'like', field, pattern: p.value };
    }
    let negated = false;
    if (this.isKeyword('not') && this.isKeyword('in', 1)) {
      this.next();
      negated = true;
    }
    if (this.isKeyword('in')) {
      this.next();
      this.expectPunct('(');
      const valuePos = this.peek().pos;
      if (this.isKeyword('select'))
        this.fail(this.peek(), 'unexpected token: SELECT (semi-join subqueries are not supported by the simulator)');
      const values: Literal[] = [this.parseLiteral()];
      while (this.isPunct(',')) {
        this.next();
        values.push(this.parseLiteral());
      }
      this.expectPunct(')');
      return { kind: 'in', field, negated, values, valuePos };
    }
    return this.fail(t);
  }

  private parseLiteral(): Literal {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'string', value: t.value };
      case 'number':
        return { kind: 'number', value: Number(t.value) };
      case 'date':
        return { kind: 'date', value: t.value };
      case 'datetime':
        return { kind: 'datetime', value: t.value };
      case 'ident': {
        const word = t.value.toLowerCase();
        if (word === 'null') return { kind: 'null' };
        if (word === 'true' || word === 'false') return { kind: 'boolean', value: word === 'true' };
        if (isDateLiteralName(t.value)) {
          if (dateLiteralTakesN(t.value)) {
            this.expectPunct(':');
            const n = this.next();
            if (n.kind !== 'number' || !/^\d+$/.test(n.value)) this.fail(n);
            return { kind: 'dateLiteral', name: t.value.toUpperCase(), n: Number(n.value) };
          }
          return { kind: 'dateLiteral', name: t.value.toUpperCase() };
        }
        return this.fail(t);
      }
      default:
        return this.fail(t);
    }
  }

  private parseOrderBy(): OrderItem[] {
    const items: OrderItem[] = [];
    do {
      const field = this.parseFieldRef();
      let descending = false;
      if (this.isKeyword('asc')) this.next();
      else if (this.isKeyword('desc')) {
        this.next();
        descending = true;
      }
      // Salesforce's default: nulls first when ascending, last when descending.
      let nullsFirst = !descending;
      if (this.isKeyword('nulls')) {
        this.next();
        if (this.isKeyword('first')) nullsFirst = true;
        else if (this.isKeyword('last')) nullsFirst = false;
        else this.fail(this.peek());
        this.next();
      }
      items.push({ field, descending, nullsFirst });
      if (!this.isPunct(',')) break;
      this.next();
    } while (true);
    return items;
  }
}

export function parseSoql(soql: string): SoqlQuery {
  return new Parser(soql, tokenize(soql)).parse();
}
