// Database mode: which objects the ingress accepts follows the stored versions. A message for an object
// a version being applied adds must wait for that version, not be refused into Salesforce's backoff.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigStore, publishConfigVersion, type ConfigWatch } from '@broker/config-store';
import { createLogger } from '@broker/runtime';
import { buildOutboundMessage, makeId } from '@broker/salesforce';
import { createPrisma, type PrismaClient } from '@broker/store';
import { bundleOf, createTestDatabase, SECRETS_ENV, type TestDatabase } from '@broker/testing';
import { followObjectSettings } from '../src/live-objects';
import { DEMO_OUTBOUND, ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

const TICKET = 'Service_Ticket__c';
const withTicket = () => {
  const bundle = bundleOf('v2');
  bundle.main = bundle.main.replace(/(\n {4}eventRules:)/, `\n      ${TICKET}:\n        mapping: mappings/ticket.yaml$1`);
  bundle.files['mappings/ticket.yaml'] = `object: ${TICKET}\nfields:\n  title:\n    template: "{{Name}}"\n    required: true\n`;
  return bundle;
};

let db: TestDatabase;
let prisma: PrismaClient;
let ingress: IngressUnderTest;
let watch: ConfigWatch;
const validate = { env: { ...process.env, ...SECRETS_ENV } };

beforeAll(async () => {
  Object.assign(process.env, SECRETS_ENV);
  db = await createTestDatabase('liveobjects');
  prisma = createPrisma(db.url, { max: 2 });
  const store = createConfigStore(prisma);
  await store.save({ bundle: bundleOf('v1'), author: 'test', validate });
  ingress = await startIngress({ configApplying: () => watch?.applying() });
  watch = followObjectSettings({
    connections: ingress.config.connections,
    version: 1,
    prisma,
    redis: ingress.redis,
    prefix: ingress.prefix,
    intervalMs: 600_000,
    logger: createLogger({ service: 'live-objects-test', level: 'silent' }),
  });
});
afterAll(async () => {
  await watch?.close();
  await ingress?.close();
  await prisma?.$disconnect();
  await db?.drop();
});

const post = (type: string, n: number) =>
  fetch(`${ingress.url}${DEMO_OUTBOUND}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=UTF-8', SOAPAction: '""' },
    body: buildOutboundMessage({
      organizationId: ORG_ID,
      actionId: makeId('04k', 1),
      sessionId: 'SESSION',
      enterpriseUrl: 'https://x/services/Soap/c/62.0/00D000000000001',
      partnerUrl: 'https://x/services/Soap/u/62.0/00D000000000001',
      notifications: [{ id: makeId('04l', n), sObjectType: type, fields: { Id: makeId('a05', n) } }],
    }),
  });

describe('an object added by a stored version', () => {
  it('is acknowledged when its message arrives while the version is being applied; an object no version has is still refused', async () => {
    expect((await post(TICKET, 1).then((r) => r.text())).includes('not configured')).toBe(true);

    // Version 2 is stored, but the ingress's check cannot read it until the lock is released: the
    // message arrives inside the apply window, as one sent right after a save from the setup pages can.
    const version = await createConfigStore(prisma).save({ bundle: withTicket(), author: 'test', validate });
    expect(version.version.version).toBe(2);
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE config_version IN ACCESS EXCLUSIVE MODE');
    try {
      await publishConfigVersion(ingress.redis, ingress.prefix, 2);
      for (let i = 0; i < 100 && !watch.applying(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(watch.applying()).toBeDefined();

      let settled = false;
      const ticket = post(TICKET, 2).then(async (r) => ({ status: r.status, text: await r.text() }));
      const account = post('Account', 3).then(async (r) => ({ status: r.status, text: await r.text() }));
      void Promise.race([ticket, account]).then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false); // both wait for the version, neither is refused on the old one
      await locker.query('COMMIT');

      const [t, a] = await Promise.all([ticket, account]);
      expect(t.status).toBe(200);
      expect(t.text).toContain('<Ack>true</Ack>');
      expect(await ingress.fetchQueue.getJob(`om-demo-${makeId('04l', 2)}`)).toMatchObject({ data: { sfObject: TICKET } });
      expect(a.status).toBe(500);
      expect(a.text).toMatch(/object Account is not configured for connection demo/);
    } finally {
      await locker.end();
    }
  });
});
