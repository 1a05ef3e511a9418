/** A SOQL token as the condition check and the simulator's parser read it; the last one of a list is `eof`. */
export interface SoqlToken {
  kind: string;
  text: string;
  /** 0-based character offset in the text. */
  pos: number;
}

/** The read position of a recursive-descent SOQL parser: reading past the end keeps answering `eof`. */
export class SoqlTokenCursor<T extends SoqlToken> {
  private i = 0;
  constructor(protected readonly tokens: T[]) {}

  protected peek(offset = 0): T {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)]!;
  }

  protected next(): T {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  protected isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === p;
  }
}
