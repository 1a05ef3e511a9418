import { randomBytes } from 'node:crypto';
import { SfError } from '../core/sf-error';

interface Cursor {
  records: Record<string, unknown>[];
  totalSize: number;
  version: string;
  lastUsed: number;
}

/** Max cursors kept; the oldest go first, as Salesforce limits open query cursors per user. */
const MAX_CURSORS = 500;

/** Server-side query cursors behind `nextRecordsUrl` (`/query/01g…-2000`). */
export class QueryCursors {
  private readonly cursors = new Map<string, Cursor>();

  page(
    result: { totalSize: number; records: Record<string, unknown>[] },
    pageSize: number,
    version: string,
    cursorId?: string,
    offset = 0,
  ): Record<string, unknown> {
    const records = result.records.slice(offset, offset + pageSize);
    const done = offset + pageSize >= result.records.length;
    const body: Record<string, unknown> = { totalSize: result.totalSize, done };
    if (!done) {
      const id = cursorId ?? this.open(result, version);
      body.nextRecordsUrl = `/services/data/v${version}/query/${id}-${offset + pageSize}`;
    } else if (cursorId) {
      this.cursors.delete(cursorId);
    }
    body.records = records;
    return body;
  }

  private open(result: { totalSize: number; records: Record<string, unknown>[] }, version: string): string {
    const id = `01g${randomBytes(8).toString('hex').toUpperCase().slice(0, 15)}`;
    this.cursors.set(id, { records: result.records, totalSize: result.totalSize, version, lastUsed: Date.now() });
    if (this.cursors.size > MAX_CURSORS) this.cursors.delete(this.cursors.keys().next().value!);
    return id;
  }

  more(locator: string, pageSize: number): Record<string, unknown> {
    const m = /^(01g[A-Za-z0-9]+)-(\d+)$/.exec(locator);
    const cursor = m ? this.cursors.get(m[1]!) : undefined;
    if (!m || !cursor || Number(m[2]) > cursor.records.length) throw new SfError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    cursor.lastUsed = Date.now();
    return this.page(cursor, pageSize, cursor.version, m[1], Number(m[2]));
  }

  clear(): void {
    this.cursors.clear();
  }
}
