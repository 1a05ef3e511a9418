// Database mode: which objects the ingress accepts follows the stored versions. A message for an object
// a version being applied adds must wait for that version, not be refused into Salesforce's backoff.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configChannel, createConfigStore, publishConfigVersion, type ConfigWatch } from '@broker/config-store';
import { createLogger } from '@broker/runtime';
import { buildOutboundMessage, makeId } from '@broker/salesforce';
import { createPrisma, type PrismaClient } from '@broker/store';
import { bundleOf, createTestDatabase, freePort, redisUrl, SECRETS_ENV, type TestDatabase } from '@broker/testing';
import { deleteQueueKeys } from '../../../scripts/lib/broker-harness';
import { followObjectSettings } from '../src/live-objects';
import { spawnIngressMain, waitUntilServing } from './ingress-process';
import { DEMO_OUTBOUND, ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

const TICKET = 'Service_Ticket__c';
/** Hold every read of the stored versions (the apps' checks) until `release`. */
async function lockVersions(url: string) {
  const locker = new pg.Client({ connectionString: url });
  await locker.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE config_version IN ACCESS EXCLUSIVE MODE');
  let released = false;
  return {
    /** Whether another session waits on a lock (a check reading the versions). Asked from a session of
     * its own: a transaction keeps its first view of pg_stat_activity. */
    waiting: async () => {
      const watcher = new pg.Client({ connectionString: url });
      await watcher.connect();
      try {
        const { rows } = await watcher.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        return rows[0].n > 0;
      } finally {
        await watcher.end();
      }
    },
    release: async () => {
      if (released) return;
      released = true;
      await locker.query('COMMIT');
      await locker.end();
    },
  };
}

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

const post = (type: string, n: number, url = `${ingress.url}${DEMO_OUTBOUND}`, organizationId = ORG_ID) =>
  fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'text/xml; charset=UTF-8', SOAPAction: '""' },
    body: buildOutboundMessage({
      organizationId,
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
    const lock = await lockVersions(db.url);
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
      await lock.release();

      const [t, a] = await Promise.all([ticket, account]);
      expect(t.status).toBe(200);
      expect(t.text).toContain('<Ack>true</Ack>');
      expect(await ingress.fetchQueue.getJob(`om-demo-${makeId('04l', 2)}`)).toMatchObject({ data: { sfObject: TICKET } });
      expect(a.status).toBe(500);
      expect(a.text).toMatch(/object Account is not configured for connection demo/);
    } finally {
      await lock.release();
    }
  });

  it('is waited for by the ingress process as deployed (main.ts, BROKER_CONFIG_SOURCE=database)', async () => {
    const own = await createTestDatabase('liveobjectsmain');
    const ownPrisma = createPrisma(own.url, { max: 1 });
    const store = createConfigStore(ownPrisma);
    await store.save({ bundle: bundleOf('v1'), author: 'test', validate });
    const [port, opsPort] = [await freePort(), await freePort()];
    const prefix = `tlo${Date.now().toString(36)}`;
    const ingressProcess = spawnIngressMain({
      ...SECRETS_ENV,
      BROKER_CONFIG_SOURCE: 'database',
      DATABASE_URL: own.url,
      REDIS_URL: redisUrl(),
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      OPS_PORT: String(opsPort),
    });
    const { output } = ingressProcess;
    let lock: Awaited<ReturnType<typeof lockVersions>> | undefined;
    try {
      const base = `http://127.0.0.1:${port}`;
      await waitUntilServing(`${base}/readyz`, ingressProcess);
      const url = `${base}/salesforce/outbound/demo/${SECRETS_ENV.CS_SF_PATH_TOKEN}`;
      // The stored version's organizationId and this 18-character id share the 15 characters compared.
      const org = ORG_ID;
      const before = await post(TICKET, 11, url, org).then((r) => r.text());
      expect(before, output.join('')).toMatch(/not configured/);

      // Announce only once the process listens for announcements (it subscribes after it serves).
      for (let i = 0; ; i++) {
        const [, listeners] = (await ingress.redis.pubsub('NUMSUB', configChannel(prefix))) as [string, number];
        if (Number(listeners) > 0) break;
        if (i > 200) throw new Error(`the ingress never subscribed to configuration announcements:\n${output.join('')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      await store.save({ bundle: withTicket(), author: 'test', validate });
      lock = await lockVersions(own.url);
      await publishConfigVersion(ingress.redis, prefix, 2);
      // The process's check is now stuck reading the versions: the apply window, held open.
      for (let i = 0; !(await lock.waiting()); i++) {
        if (i > 200) throw new Error(`the ingress did not start applying the announced version:\n${output.join('')}`);
        await new Promise((r) => setTimeout(r, 25));
      }
      let settled = false;
      const answer = post(TICKET, 12, url, org).then(async (r) => ({ status: r.status, text: await r.text() }));
      void answer.then(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
      await lock.release();
      const a = await answer;
      expect(a.status).toBe(200);
      expect(a.text).toContain('<Ack>true</Ack>');
    } finally {
      await lock?.release();
      ingressProcess.child.kill('SIGKILL');
      await deleteQueueKeys(ingress.redis, prefix);
      await ownPrisma.$disconnect();
      await own.drop();
    }
  }, 60_000);
});
