export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'date'; value: string }
  | { kind: 'datetime'; value: string }
  | { kind: 'dateLiteral'; name: string; n?: number };

export interface FieldRef {
  /** Path as written, dot-separated segments (alias / object prefix already stripped). */
  path: string[];
  pos: number;
}

export type SelectItem = ({ kind: 'field' } & FieldRef) | { kind: 'count'; pos: number };

export type Condition =
  | { kind: 'and' | 'or'; items: Condition[] }
  | { kind: 'not'; item: Condition }
  | { kind: 'cmp'; field: FieldRef; op: '=' | '!=' | '<' | '>' | '<=' | '>='; value: Literal; valuePos: number }
  | { kind: 'in'; field: FieldRef; negated: boolean; values: Literal[]; valuePos: number }
  | { kind: 'like'; field: FieldRef; pattern: string };

export interface OrderItem {
  field: FieldRef;
  descending: boolean;
  nullsFirst: boolean;
}

export interface SoqlQuery {
  text: string;
  select: SelectItem[];
  from: { name: string; alias?: string; pos: number };
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}
