import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, startListener } from '@broker/testing';

describe('test kit', () => {
  it('clones a migrated database and drops it', async () => {
    const db = await createTestDatabase('kit');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const tables = await client.query(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('correlation','timeline_entry','inbound_ledger','message_link')",
    );
    await client.end();
    expect(tables.rows[0].n).toBe(4);
    await db.drop();
  });

  it('records requests on a local listener and answers as told', async () => {
    const l = await startListener();
    l.respond = () => ({ status: 202, body: 'ok' });
    const res = await fetch(`${l.url}/x`, { method: 'POST', body: 'hello' });
    expect(res.status).toBe(202);
    const [req] = await l.waitFor(1);
    expect(req).toMatchObject({ method: 'POST', url: '/x', body: 'hello' });
    await expect(l.waitFor(2, 100)).rejects.toThrow(/1 of 2/);
    await l.close();
  });
});
