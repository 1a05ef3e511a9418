// Chatter objects over the REST API with jsforce: feed tracking in describe, posts and comments as
// Salesforce creates them, what it refuses, and the LOST_RESPONSE fault (saved, never answered).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Connection } from 'jsforce';
import { createLogger } from '@broker/runtime';
import { startSalesforceSim, type SalesforceSim } from '../src/index';
import { failure, soapConnection } from './helpers';

let sim: SalesforceSim;
let conn: Connection;
beforeAll(async () => {
  sim = await startSalesforceSim({ port: 0, logger: createLogger({ service: 'sim-chatter', level: 'silent' }) });
  conn = await soapConnection(sim);
});
afterAll(async () => {
  await sim.close();
});

describe('Chatter (FeedItem, FeedComment)', () => {
  it('describes feed tracking per object and FeedItem.ParentId as polymorphic over the tracked ones', async () => {
    expect((await conn.sobject('Service_Ticket__c').describe()).feedEnabled).toBe(true);
    expect((await conn.sobject('Case').describe()).feedEnabled).toBe(true);
    expect((await conn.sobject('Site_Visit__c').describe()).feedEnabled).toBe(false);
    const parent = (await conn.sobject('FeedItem').describe()).fields.find((f) => f.name === 'ParentId')!;
    expect(parent.referenceTo).toEqual(['Account', 'Contact', 'Case', 'Service_Ticket__c']);
    expect((parent as { polymorphicForeignKey?: boolean }).polymorphicForeignKey).toBe(true);
    const body = (await conn.sobject('FeedItem').describe()).fields.find((f) => f.name === 'Body')!;
    expect(body).toMatchObject({ type: 'textarea', length: 10000, filterable: false });
  });

  it("creates a text post and a comment, the comment taking its post's parent, both readable by SOQL", async () => {
    const ticket = sim.ref('ticket_1');
    const post = await conn.sobject('FeedItem').create({ ParentId: ticket, Body: 'Hello from the API' });
    expect(post.id).toMatch(/^0D5/);
    const comment = await conn.sobject('FeedComment').create({ FeedItemId: post.id, CommentBody: 'A reply' });
    expect(comment.id).toMatch(/^0D7/);
    const { records } = await conn.query<{ Id: string; ParentId: string; Type: string; CreatedDate: string; CreatedBy: { Name: string } }>(
      `SELECT Id, ParentId, Type, CreatedDate, CreatedBy.Name FROM FeedItem WHERE ParentId IN ('${ticket}') AND CreatedById = '${sim.ref('integration')}'`,
    );
    expect(records).toEqual([
      expect.objectContaining({
        Id: post.id,
        ParentId: ticket,
        Type: 'TextPost',
        CreatedBy: expect.objectContaining({ Name: 'Integration User' }),
      }),
    ]);
    expect(records[0]!.CreatedDate).toMatch(/\.000\+0000$/); // whole seconds, as Salesforce answers
    const replies = await conn.query<{ ParentId: string; CommentType: string }>(
      `SELECT ParentId, CommentType FROM FeedComment WHERE FeedItemId = '${post.id}'`,
    );
    expect(replies.records[0]).toMatchObject({ ParentId: ticket, CommentType: 'TextComment' });
  });

  it("refuses a post on an untracked object, a text post without a body, a comment without its post, and setting a comment's ParentId", async () => {
    expect((await failure(conn.sobject('FeedItem').create({ ParentId: sim.ref('visit_1'), Body: 'x' }))).errorCode).toBe('MALFORMED_ID');
    expect((await failure(conn.sobject('FeedItem').create({ ParentId: sim.ref('ticket_1') }))).errorCode).toBe('REQUIRED_FIELD_MISSING');
    expect((await failure(conn.sobject('FeedComment').create({ CommentBody: 'orphan' }))).errorCode).toBe('REQUIRED_FIELD_MISSING');
    const post = sim.createRecord('FeedItem', { ParentId: sim.ref('ticket_1'), Body: 'p' });
    expect(
      (await failure(conn.sobject('FeedComment').create({ FeedItemId: post, CommentBody: 'x', ParentId: sim.ref('case_install') })))
        .errorCode,
    ).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
  });

  it('LOST_RESPONSE carries the request out and closes the connection unanswered', async () => {
    sim.injectFault({ kind: 'LOST_RESPONSE', method: 'POST', path: '/sobjects/FeedItem$', count: 1 });
    const err = await failure(conn.sobject('FeedItem').create({ ParentId: sim.ref('ticket_1'), Body: 'saved but unanswered' }));
    expect(err.message).toMatch(/socket hang up|ECONNRESET|other side closed|fetch failed|terminated/i);
    expect(
      sim.query(`SELECT Id FROM FeedItem WHERE ParentId = '${sim.ref('ticket_1')}' AND CreatedById = '${sim.ref('integration')}'`).records
        .length,
    ).toBeGreaterThan(0);
    const saved = (sim.query(`SELECT Body FROM FeedItem WHERE ParentId = '${sim.ref('ticket_1')}'`).records as { Body: string }[]).filter(
      (r) => r.Body === 'saved but unanswered',
    );
    expect(saved).toHaveLength(1);
  });
});
