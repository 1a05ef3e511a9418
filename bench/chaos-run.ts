// The fault-injection run: N Cases through the whole broker while apps are SIGKILLed, Redis and
// PostgreSQL restart, both platforms misbehave and deliveries are duplicated and reordered; then a
// reconciliation of both simulators with the store. Redis and PostgreSQL are private instances
// started here (on free ports, in temp dirs) so that restarting them disturbs nothing else.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { allQueues } from '@broker/contracts';
import { freePort, prepareDatabase, startHarness, WORKER_APPS, type Harness } from '../scripts/lib/broker-harness';
import type { AppName } from '../scripts/lib/app-processes';

export interface ChaosOptions {
  records: number;
  /** Seconds to wait for the pipeline to settle after the last fault. */
  settleSeconds: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  records_sent: number;
  work_orders_created: number;
  duplicates: number;
  lost: number;
  stuck: Record<string, Record<string, number>>;
  stuck_failed: number;
  /** A few failed jobs with their reasons, for diagnosis. */
  failed_reasons: string[];
  faults: string[];
  /** Creates Field Nation committed after the broker had given up on them (the late-commit fault). */
  late_commits: number;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PostgreSQL refuses to run as root: run its tools as the `postgres` user when we are root. */
function pgExec(name: string, args: string[]): void {
  const bin = pgBin(name);
  if (process.getuid?.() === 0) execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { stdio: 'ignore' });
  else execFileSync(bin, args, { stdio: 'ignore' });
}

function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').sort();
  return path.join('/usr/lib/postgresql', versions.at(-1)!, 'bin', name);
}

async function startRedis(dir: string, port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  probe.on('error', () => undefined);
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect().catch(() => undefined);
      if ((await probe.ping()) === 'PONG') break;
    } catch {
      await sleep(100);
    }
  }
  probe.disconnect();
  return child;
}

const KILL_ROTATION: AppName[] = [...WORKER_APPS, 'ingress'];

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const t0 = Date.now();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'chaos-'));
  const redisPort = await freePort();
  const pgPort = await freePort();
  const pgData = path.join(tmp, 'pg');
  const faults: string[] = [];
  let redis: ChildProcess | undefined;
  let h: Harness | undefined;
  const pgCtl = (...args: string[]) => pgExec('pg_ctl', ['-D', pgData, '-w', '-l', path.join(pgData, '..', 'pg-run', 'pg.log'), ...args]);
  try {
    redis = await startRedis(tmp, redisPort);
    // The cluster lives in its own directory owned by whoever runs PostgreSQL.
    mkdirSync(path.join(tmp, 'pg-run'));
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres', tmp]);
    pgExec('initdb', ['-D', pgData, '-U', 'postgres', '--auth=trust']);
    pgCtl('-o', `-p ${pgPort} -k ${path.join(tmp, 'pg-run')} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start');
    const databaseUrl = `postgresql://postgres@127.0.0.1:${pgPort}/broker`;
    await prepareDatabase(databaseUrl);

    h = await startHarness({
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      databaseUrl,
      caseObject: 'Case: { mapping: MAPPING, trigger: "Send_to_Field_Nation__c = true", afterCreate: { publish: true } }',
      salesforceSim: { outboundRetryBaseMs: 300, outboundRetryMaxGapMs: 2_000 },
      fieldnationSim: { timeFactor: 100 },
      // Longer than the late commits below take, far shorter than production's 120 s: the run stays short.
      env: { FN_CREATE_SETTLE_SECONDS: '10' },
      echo: process.env.CHAOS_ECHO === '1',
    });
    const harness = h;
    let lateCommit: { hits: number } | undefined;
    const fault = async (name: string, act: () => unknown) => {
      faults.push(name);
      log(`  fault: ${name}`);
      await act();
    };
    const ids: string[] = [];
    const createCases = (n: number) => {
      for (let i = 0; i < n; i++) {
        ids.push(harness.sf.createRecord('Case', { Subject: `Chaos ${ids.length}`, AccountId: harness.sf.ref('acme'), Priority: 'Medium', Preferred_Service_Date__c: new Date(Date.now() + 86_400_000).toISOString(), Send_to_Field_Nation__c: true }, { as: 'dispatcher@example.com' }));
      }
    };

    const waves = 8;
    const perWave = Math.ceil(options.records / waves);
    const schedule: [string, () => unknown][] = [
      ['Field Nation 5xx burst', () => harness.fn.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', status: 503, count: 15 })],
      ['SIGKILL salesforce-fetcher', () => harness.restart('salesforce-fetcher', 'SIGKILL')],
      ['Redis stopped and restarted', async () => {
        const r = new Redis(redisPort, '127.0.0.1');
        r.on('error', () => undefined);
        await r.call('SHUTDOWN').catch(() => undefined);
        r.disconnect();
        await sleep(1_500);
        redis = await startRedis(tmp, redisPort);
      }],
      ['Salesforce session expiry storm and UNABLE_TO_LOCK_ROW', () => {
        harness.sf.expireSessions({});
        harness.sf.injectFault({ kind: 'UNABLE_TO_LOCK_ROW', method: 'POST', path: '/composite', count: 5 });
      }],
      ['SIGKILL mapper and fieldnation-writer; Field Nation 429 storm', async () => {
        harness.fn.injectFault({ method: 'POST', path: '/publish$', status: 429, retryAfterSeconds: 1, count: 20 });
        await harness.restart('mapper', 'SIGKILL');
        await harness.restart('fieldnation-writer', 'SIGKILL');
      }],
      ['PostgreSQL restarted', async () => {
        pgCtl('-m', 'fast', 'stop');
        await sleep(1_000);
        pgCtl('-o', `-p ${pgPort} -k ${path.join(tmp, 'pg-run')} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start');
      }],
      ['Field Nation timeouts and creates committed after the broker gave up; duplicated and reordered webhooks; SIGKILL ingress', async () => {
        harness.fn.injectFault({ method: 'GET', path: '^/api/rest/v2/workorders$', latencyMs: 3_000, count: 3 });
        // The connection is cut without an answer and each work order appears 4 s later.
        lateCommit = harness.fn.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', commitAfterMs: 4_000, hangMs: 500, count: 5 });
        harness.fn.injectDeliveryFault({ kind: 'duplicate', count: 20 });
        harness.fn.injectDeliveryFault({ kind: 'reorder', count: 20 });
        await harness.restart('ingress', 'SIGKILL');
      }],
      ['SIGKILL salesforce-writer; duplicated Outbound Message notifications', async () => {
        await harness.restart('salesforce-writer', 'SIGKILL');
        for (const n of harness.sf.outbound({}).slice(0, 20)) {
          const body = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D000000000001EAA</OrganizationId><ActionId>${n.actionId}</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>x</EnterpriseUrl><PartnerUrl>x</PartnerUrl><Notification><Id>${n.id}</Id><sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>${n.recordId}</sf:Id></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>`;
          await fetch(harness.outboundUrl, { method: 'POST', body, headers: { 'content-type': 'text/xml' } }).catch(() => undefined);
        }
      }],
    ];
    for (let w = 0; w < waves; w++) {
      createCases(Math.min(perWave, options.records - ids.length));
      const [name, act] = schedule[w % schedule.length]!;
      await fault(name, act);
      // On top of the wave's fault, one more app SIGKILLed in turn: each is killed two or three times a run.
      const victim = KILL_ROTATION[w % KILL_ROTATION.length]!;
      await fault(`SIGKILL ${victim}`, () => harness.restart(victim, 'SIGKILL'));
      // The return path under the same faults: the technician works a few of the synced orders.
      for (const id of ids.slice(-perWave, -perWave + 3)) {
        const c = await harness.store.getCorrelation({ connectionId: 'demo', sfId: id }).catch(() => null);
        if (c?.workOrderId) {
          try {
            harness.fn.buyer.assign(c.workOrderId, 557);
            harness.fn.technician.checkIn(c.workOrderId, { providerId: 557 });
          } catch {
            // a work order not yet published cannot be assigned: fine under chaos
          }
        }
      }
      await sleep(1_000);
    }
    harness.fn.clearFaults();
    harness.sf.clearFaults();

    log(`  settling (up to ${options.settleSeconds} s)…`);
    const deadline = Date.now() + options.settleSeconds * 1000;
    let lostIds: string[] = ids;
    // Settled when everything synced, or when nothing has moved for 30 s and no job is left that
    // could still move it (then what is missing is lost).
    let lastProgress = Date.now();
    let lastMissing = Infinity;
    // One connection and one Queue per queue inspect the run: while settling, then for the figures.
    const inspect = new Redis(redisPort, '127.0.0.1', { maxRetriesPerRequest: 1 });
    inspect.on('error', () => undefined);
    const queues = new Map(allQueues.map((q) => [q.name, new Queue(q.name, { connection: inspect, prefix: harness.queuePrefix })]));
    const pendingJobs = async () => {
      let n = 0;
      for (const [name, q] of queues) if (name !== 'sf.reconcile') n += await q.getJobCountByTypes('wait', 'active', 'delayed', 'prioritized').catch(() => 1);
      return n;
    };
    while (Date.now() < deadline) {
      const rows = await harness.prisma.correlation.findMany({ where: { connectionId: 'demo', sfId: { in: ids }, state: 'synced' }, select: { sfId: true } }).catch(() => []);
      const done = new Set(rows.map((r) => r.sfId));
      lostIds = ids.filter((id) => !done.has(id));
      if (lostIds.length === 0) break;
      if (lostIds.length < lastMissing) {
        lastMissing = lostIds.length;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > 30_000 && harness.sf.outbound({ status: 'pending' }).length === 0 && (await pendingJobs()) === 0) {
        break;
      }
      await sleep(1_000);
    }
    const perCase = new Map<string, number>();
    for (const wo of harness.fn.listWorkOrders()) {
      const id = String(wo.incident_id ?? '');
      if (ids.includes(id)) perCase.set(id, (perCase.get(id) ?? 0) + 1);
    }
    const stuck: Record<string, Record<string, number>> = {};
    let stuckFailed = 0;
    const failedReasons: string[] = [];
    for (const [name, q] of queues) {
      const counts = await q.getJobCounts('wait', 'active', 'delayed', 'failed', 'prioritized');
      stuck[name] = counts;
      stuckFailed += counts.failed ?? 0;
      for (const job of await q.getFailed(0, 4)) failedReasons.push(`${name} ${job.id}: ${job.failedReason}`);
    }
    if (lostIds.length) {
      log(`  lost: ${lostIds.slice(0, 5).join(', ')}${lostIds.length > 5 ? ' …' : ''}`);
      for (const id of lostIds.slice(0, 2)) {
        log(`    ${id}: ${(await harness.store.timeline(id).catch(() => [])).map((t) => `${t.stage}/${t.outcome}${t.message ? ` (${t.message.slice(0, 80)})` : ''}`).join(' → ') || 'no timeline'}; outbound: ${JSON.stringify(harness.sf.outbound({}).filter((n) => n.recordId === id).map((n) => n.status))}`);
        const c = await harness.store.getCorrelation({ connectionId: 'demo', sfId: id }).catch(() => null);
        log(`      correlation: ${c ? `${c.state} wo=${c.workOrderId} v${c.version}` : 'none'}; work orders: ${JSON.stringify(harness.fn.listWorkOrders().filter((wo) => String(wo.incident_id) === id).map((wo) => ({ id: wo.id, status: (wo.status as { name?: string } | undefined)?.name })))}`);
        // Every job about the record still in Redis, with its state (job ids carry the Salesforce id).
        const keys = (await inspect.keys(`${harness.queuePrefix}:*${id}*`)).filter((k) => !/:(logs|lock)$/.test(k));
        for (const key of keys.slice(0, 10)) {
          const [, queue, jid] = key.match(/^[^:]+:([^:]+):(.+)$/) ?? [];
          const state = (jid && (await queues.get(queue ?? '')?.getJobState(jid).catch(() => '?'))) || '?';
          const h = await inspect.hgetall(key).catch(() => ({}) as Record<string, string>);
          log(`      job ${key}: ${state} attemptsMade=${h.attemptsMade ?? '-'} stalled=${h.stc ?? '-'} failedReason=${h.failedReason ?? '-'} delay=${h.delay ?? '-'}`);
        }
      }
    }
    await Promise.all([...queues.values()].map((q) => q.close()));
    inspect.disconnect();
    return {
      records_sent: ids.length,
      work_orders_created: perCase.size,
      duplicates: [...perCase.values()].filter((n) => n > 1).length,
      lost: lostIds.length,
      stuck,
      stuck_failed: stuckFailed,
      failed_reasons: failedReasons,
      faults,
      late_commits: lateCommit?.hits ?? 0,
      seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    await h?.stop().catch(() => undefined);
    for (const app of h?.apps.values() ?? []) app.child.kill('SIGKILL');
    try {
      pgCtl('-m', 'immediate', 'stop');
    } catch {
      // already stopped
    }
    redis?.kill('SIGKILL');
    rmSync(tmp, { recursive: true, force: true });
  }
}
