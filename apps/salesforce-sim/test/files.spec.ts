import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { simWithListener, soapConnection, VERSION } from './helpers';

/** A multipart body as Salesforce's "Insert or Update Blob Data" shows it: the JSON entity, then the bytes. */
function multipart(entity: unknown, file: { name: string; content: Buffer | string }, boundary = 'boundary_string'): Buffer {
  return Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="entity_content";\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(entity)}\r\n` +
        `--${boundary}\r\nContent-Type: application/octet-stream\r\nContent-Disposition: form-data; name="VersionData"; filename="${file.name}"\r\n\r\n`,
    ),
    Buffer.from(file.content),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
}

describe('Salesforce Files over REST (ContentVersion, ContentDocument, ContentDocumentLink)', () => {
  const env = simWithListener({ outboundToListener: false });

  const session = async () => {
    const conn = await soapConnection(env.sim);
    const base = `${conn.instanceUrl}/services/data/v${VERSION}`;
    const headers = { Authorization: `Bearer ${conn.accessToken}` };
    return { conn, base, headers };
  };

  it('inserts a ContentVersion from a multipart body, links it to the record, serves VersionData, one API call each', async () => {
    const { conn, base, headers } = await session();
    const caseId = env.sim.ref('case_install');
    const bytes = Buffer.from([0x25, 0x50, 0x44, 0x46, 0, 1, 2, 255]);
    const before = env.sim.counters().apiCalls.total;
    const res = await fetch(`${base}/sobjects/ContentVersion`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'multipart/form-data; boundary="boundary_string"' },
      body: multipart(
        { Title: 'Site photo', PathOnClient: 'site.pdf', FirstPublishLocationId: caseId, Description: 'marker-1' },
        { name: 'site.pdf', content: bytes },
      ),
    });
    const created = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(created)).toBe(201);
    const { id } = created;
    expect(id).toMatch(/^068/);
    expect(res.headers.get('sforce-limit-info')).toMatch(/api-usage=\d+\/\d+/);

    const [file] = env.sim.filesOf(caseId);
    expect(file).toMatchObject({ contentVersionId: id, title: 'Site photo', pathOnClient: 'site.pdf', size: 8, description: 'marker-1' });
    expect([...readFileSync(file!.path)]).toEqual([...bytes]);

    // Queryable like any object: what the broker's poll and its recovery read.
    const q = await conn.query<Record<string, unknown>>(
      `SELECT Id, ContentDocumentId, Title, FileExtension, ContentSize, FirstPublishLocationId, CreatedById, IsLatest FROM ContentVersion WHERE FirstPublishLocationId = '${caseId}'`,
    );
    expect(q.records).toEqual([
      expect.objectContaining({
        Id: id,
        Title: 'Site photo',
        FileExtension: 'pdf',
        ContentSize: 8,
        FirstPublishLocationId: caseId,
        IsLatest: true,
      }),
    ]);
    const links = await conn.query(`SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '${file!.contentDocumentId}'`);
    expect(links.records).toEqual([expect.objectContaining({ LinkedEntityId: caseId })]);

    const data = await fetch(`${base}/sobjects/ContentVersion/${id}/VersionData`, { headers });
    expect(data.status).toBe(200);
    expect([...new Uint8Array(await data.arrayBuffer())]).toEqual([...bytes]);
    const counted = env.sim.counters().apiCalls;
    expect(counted.total - before).toBe(4);
    expect(counted.byEndpoint['POST /sobjects/ContentVersion']).toBe(1);
    expect(counted.byEndpoint['GET /sobjects/ContentVersion/{id}/VersionData']).toBe(1);
  });

  it('also takes base64 VersionData in JSON; attachFile is a user adding a file', async () => {
    const { base, headers } = await session();
    const ticket = env.sim.ref('ticket_1');
    const res = await fetch(`${base}/sobjects/ContentVersion`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        PathOnClient: 'notes.txt',
        VersionData: Buffer.from('hello').toString('base64'),
        FirstPublishLocationId: ticket,
      }),
    });
    expect(res.status).toBe(201);
    const added = env.sim.attachFile(ticket, { name: 'plan.png', content: 'png!' }, { as: 'dispatcher@example.com' });
    const files = env.sim.filesOf(ticket);
    expect(files.map((f) => [f.pathOnClient, f.title, f.size])).toEqual([
      ['notes.txt', 'notes', 5],
      ['plan.png', 'plan', 4],
    ]);
    expect(files[1]).toMatchObject({
      contentVersionId: added.contentVersionId,
      createdById: env.sim.actingUserId('dispatcher@example.com'),
    });
  });

  it('refuses bad input with Salesforce error bodies, and a missing session', async () => {
    const { base, headers } = await session();
    const caseId = env.sim.ref('case_install');
    const post = (body: Buffer | string, type = 'multipart/form-data; boundary=boundary_string', h: Record<string, string> = headers) =>
      fetch(`${base}/sobjects/ContentVersion`, { method: 'POST', headers: { ...h, 'Content-Type': type }, body });

    const noPath = await post(multipart({ FirstPublishLocationId: caseId }, { name: 'a.pdf', content: 'x' }));
    expect(noPath.status).toBe(400);
    expect(await noPath.json(), 'no PathOnClient').toEqual([expect.objectContaining({ errorCode: 'REQUIRED_FIELD_MISSING' })]);

    const badLocation = await post(
      multipart({ PathOnClient: 'a.pdf', FirstPublishLocationId: '001000000000000AAA' }, { name: 'a.pdf', content: 'x' }),
    );
    expect(badLocation.status).toBe(400);

    const noFile = await post(
      Buffer.from(
        `--b\r\nContent-Disposition: form-data; name="entity_content"\r\nContent-Type: application/json\r\n\r\n{"PathOnClient":"a.pdf"}\r\n--b--\r\n`,
      ),
      'multipart/form-data; boundary=b',
    );
    expect(noFile.status).toBe(400);
    expect(await noFile.json()).toEqual([expect.objectContaining({ errorCode: 'REQUIRED_FIELD_MISSING' })]);

    const unauthenticated = await post(multipart({ PathOnClient: 'a.pdf' }, { name: 'a.pdf', content: 'x' }), undefined, {});
    expect(unauthenticated.status).toBe(401);
    expect((await fetch(`${base}/sobjects/ContentVersion/068000000000001AAA/VersionData`, { headers })).status).toBe(404);
    expect(env.sim.filesOf(caseId)).toEqual([]);
  });
});
