// The fault-injection run: N Cases through the whole broker while apps are SIGKILLed, Redis is
// SIGKILLed (AOF with appendfsync everysec: up to a second of acknowledged writes is lost),
// PostgreSQL is down for minutes, Salesforce stops answering, both platforms misbehave and webhooks
// are duplicated, reordered and replayed under new delivery ids; then reconciliation sweeps (the
// safety net for what Redis lost) and a reconciliation of both simulators with the store. Redis and
// PostgreSQL are private instances started here (on free ports, in temp dirs) so that stopping them
// disturbs nothing else.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { allQueues, enqueue, jobId, sfReconcileQueue } from '@broker/contracts';
import { openQueue } from '@broker/runtime';
import { startRedisServer } from '@broker/testing';
import { signV3 } from '../apps/fieldnation-sim/src/index';
import { createDispatchCase, freePort, prepareDatabase, startHarness, WORKER_APPS, type Harness } from '../scripts/lib/broker-harness';
import type { AppName } from '../scripts/lib/app-processes';

export interface ChaosOptions {
  records: number;
  /** Seconds to wait for the pipeline to settle after the last fault. */
  settleSeconds: number;
  /** How long PostgreSQL stays stopped. Default 150. */
  pgOutageSeconds?: number;
  /** How long every Salesforce endpoint (logins, queries, composite...) accepts requests and never answers. Default 60. */
  salesforceHangSeconds?: number;
  log?: (line: string) => void;
}

export interface ChaosResult {
  records_sent: number;
  work_orders_created: number;
  duplicates: number;
  /** CaseComments written twice for one cause (same Case, same body): a duplicated, replayed or retried event or message. */
  duplicate_case_comments: number;
  /** CaseComments the return path wrote on the run's Cases (messages and status events). */
  case_comments: number;
  lost: number;
  stuck: Record<string, Record<string, number>>;
  /** Jobs left failed (dead-lettered) in any queue. */
  dead_lettered: number;
  /** A few failed jobs with their reasons, for diagnosis. */
  failed_reasons: string[];
  faults: string[];
  /** Creates Field Nation committed after the broker had given up on them (the late-commit fault). */
  late_commits: number;
  /** Signed webhook bodies re-POSTed under a new X-FN-Delivery-Id or none, and how many the ingress accepted (2xx). */
  webhook_replays: number;
  webhook_replays_accepted: number;
  /** Salesforce requests left unanswered by the hang fault. */
  salesforce_hung_requests: number;
  /** Bytes cut from the end of Redis's AOF after the SIGKILL: the acknowledged writes of its last second. */
  redis_aof_bytes_dropped: number;
  /** Of the Cases created for the Redis fault, those whose Outbound Message the ingress acknowledged within that lost second (a lower bound: the wave's other Cases are not timed). */
  redis_acked_in_lost_second: number;
  /** Reconciliation sweeps queued after the waves (as `broker reconcile` queues them). */
  reconciliation_sweeps: number;
  /** Cases a sweep fed back into the pipeline (a `reconciled` stage on their timeline): lost by Redis, or still in flight when it ran. */
  reconciled_records: number;
  /** Outage lengths of the run, in seconds. */
  pg_outage_seconds: number;
  salesforce_hang_seconds: number;
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

/** Redis with the AOF once a second (its production setting), so that a kill can lose up to a second. */
function startRedis(dir: string, port: number): Promise<ChildProcess> {
  return startRedisServer({
    port,
    dir,
    args: ['--appendonly', 'yes', '--appendfsync', 'everysec', '--auto-aof-rewrite-percentage', '0', '--maxmemory-policy', 'noeviction'],
    // A restart replays the AOF first (PING answers LOADING until it is done).
    readyTimeoutMs: 60_000,
  });
}

const KILL_ROTATION: AppName[] = [...WORKER_APPS, 'ingress'];

/** The AOF file Redis appends to now (Redis 7: `appendonlydir/<name>.<n>.incr.aof`, highest n). */
function latestIncrAof(dir: string): string | undefined {
  const aofDir = path.join(dir, 'appendonlydir');
  const files = readdirSync(aofDir).filter((f) => f.endsWith('.incr.aof'));
  const seq = (f: string) => Number(/\.(\d+)\.incr\.aof$/.exec(f)?.[1] ?? 0);
  const last = files.sort((a, b) => seq(a) - seq(b)).at(-1);
  return last ? path.join(aofDir, last) : undefined;
}

/** Wait for a child process to be gone (its port free again). */
async function exited(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const pgOutageSeconds = options.pgOutageSeconds ?? 150;
  const hangSeconds = options.salesforceHangSeconds ?? 60;
  const t0 = Date.now();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'chaos-'));
  const redisPort = await freePort();
  const pgPort = await freePort();
  const pgData = path.join(tmp, 'pg');
  const faults: string[] = [];
  let redis: ChildProcess | undefined;
  let h: Harness | undefined;
  const pgCtl = (...args: string[]) => pgExec('pg_ctl', ['-D', pgData, '-w', '-l', path.join(pgData, '..', 'pg-run', 'pg.log'), ...args]);
  const pgStart = () => pgCtl('-o', `-p ${pgPort} -k ${path.join(tmp, 'pg-run')} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start');
  try {
    redis = await startRedis(tmp, redisPort);
    // The cluster lives in its own directory owned by whoever runs PostgreSQL.
    mkdirSync(path.join(tmp, 'pg-run'));
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres', tmp]);
    pgExec('initdb', ['-D', pgData, '-U', 'postgres', '--auth=trust']);
    pgStart();
    const databaseUrl = `postgresql://postgres@127.0.0.1:${pgPort}/broker`;
    await prepareDatabase(databaseUrl);

    h = await startHarness({
      redisUrl: `redis://127.0.0.1:${redisPort}`,
      databaseUrl,
      caseObject: 'Case: { mapping: MAPPING, trigger: "Send_to_Field_Nation__c = true", afterCreate: { publish: true } }',
      salesforceSim: { outboundRetryBaseMs: 300, outboundRetryMaxGapMs: 2_000 },
      fieldnationSim: { timeFactor: 100 },
      // A hung Salesforce is given up on after 5 s (production: 60 s), so the run stays short.
      salesforceTimeouts: { connectMs: 2_000, requestMs: 5_000 },
      // Longer than the late commits below take, far shorter than production's 120 s: the run stays short.
      env: { FN_CREATE_SETTLE_SECONDS: '10' },
      echo: process.env.CHAOS_ECHO === '1',
    });
    const harness = h;
    let lateCommit: { hits: number } | undefined;
    let hang: { id: string } | undefined;
    let replays = 0;
    let aofBytesDropped = 0;
    let ackedInLostSecond = 0;
    let replaysAccepted = 0;
    const fault = async (name: string, act: () => unknown) => {
      faults.push(name);
      log(`  fault: ${name}`);
      await act();
    };
    const ids: string[] = [];
    const createCases = (n: number) => {
      for (let i = 0; i < n; i++) {
        ids.push(createDispatchCase(harness.sf, `Chaos ${ids.length}`));
      }
    };
    // The return path under the same faults: a technician works a few synced orders per wave, and
    // each message and the work-done event become CaseComments (the ones that must not double).
    const worked = new Set<string>();
    const workSomeOrders = async (n: number) => {
      const synced = await harness.prisma.correlation
        .findMany({
          where: { connectionId: 'demo', sfId: { in: ids }, state: 'synced', workOrderId: { not: null } },
          select: { sfId: true, workOrderId: true },
        })
        .catch(() => []);
      for (const c of synced.filter((r) => !worked.has(r.sfId)).slice(0, n)) {
        worked.add(c.sfId);
        const wo = Number(c.workOrderId);
        const steps: (() => unknown)[] = [
          () => harness.fn.buyer.assign(wo, 557),
          () => harness.fn.technician.checkIn(wo, { providerId: 557 }),
          () => harness.fn.technician.postMessage(wo, `Chaos note for ${c.sfId}: on site, starting.`, { providerId: 557 }),
          () => harness.fn.technician.checkOut(wo, { providerId: 557 }),
          () => harness.fn.technician.complete(wo, { providerId: 557, closeoutNotes: `Done for ${c.sfId}.` }),
        ];
        for (const step of steps) {
          try {
            step();
          } catch {
            // a step the work order's state does not allow yet: fine under chaos
          }
        }
      }
    };
    // Signed bodies Field Nation delivered, POSTed again as a replay would: same bytes and signature,
    // a new X-FN-Delivery-Id (or none). Comment-making events first: those are the ones that could double.
    const replayWebhooks = async (max: number) => {
      const hooks = new Map(harness.fn.listWebhooks().map((w) => [w.webhookId, w]));
      const delivered = harness.fn.deliveries({ deliveryStatus: 'delivered' });
      const commenting = (e: string) => e === 'workorder.message_posted' || e === 'workorder.status.work_done';
      const chosen = [...delivered.filter((d) => commenting(d.eventName)), ...delivered.filter((d) => !commenting(d.eventName))].slice(
        0,
        max,
      );
      for (const [i, d] of chosen.entries()) {
        const hook = hooks.get(d.webhookId);
        if (!hook) continue;
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          'X-FN-Webhook-Id': d.webhookId,
          'X-FN-Signature': signV3(hook.secret, d.body),
          'X-FN-Request-Timestamp': String(Date.now()),
        };
        if (i % 2 === 0) headers['X-FN-Delivery-Id'] = `${randomUUID()}:1`;
        replays++;
        const res = await fetch(d.url, { method: 'POST', headers, body: d.body }).catch(() => undefined);
        if (res?.ok) replaysAccepted++;
        await res?.arrayBuffer().catch(() => undefined);
      }
    };

    const schedule: [string, () => unknown][] = [
      [
        'Field Nation 5xx burst',
        () => harness.fn.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders$', status: 503, count: 15 }),
      ],
      ['SIGKILL salesforce-fetcher', () => harness.restart('salesforce-fetcher', 'SIGKILL')],
      [
        'Redis SIGKILLed under appendfsync everysec, and the last second of its AOF dropped (what a host crash loses)',
        async () => {
          // A process kill alone loses nothing (the kernel still has what Redis wrote); a host crash
          // loses what was not fsynced yet, up to about a second under everysec. Both happen here:
          // the AOF is cut back to its length a second before the kill, acknowledged writes included.
          const aof = latestIncrAof(tmp);
          // The AOF's length over time, to cut it back to where it was a second before the kill.
          const sizes: { at: number; size: number }[] = [];
          const sample = () => aof && sizes.push({ at: Date.now(), size: statSync(aof).size });
          sample();
          const sampler = setInterval(sample, 50);
          // Cases whose Outbound Messages the ingress acknowledges just before the kill: Salesforce will
          // not send them again, so only the reconciliation sweep can bring back what Redis forgets.
          const firstNew = ids.length;
          createCases(Math.min(10, Math.max(0, options.records - ids.length)));
          const ackedAt = new Map<string, number>();
          const fresh = new Set(ids.slice(firstNew));
          for (const until = Date.now() + 10_000; Date.now() < until && ackedAt.size < fresh.size; await sleep(20)) {
            for (const n of harness.sf.outbound({ status: 'delivered' }))
              if (fresh.has(n.recordId) && !ackedAt.has(n.recordId)) ackedAt.set(n.recordId, Date.now());
          }
          clearInterval(sampler);
          const killAt = Date.now();
          const before = [...sizes].reverse().find((x) => x.at <= killAt - 1_000)?.size ?? sizes[0]?.size ?? 0;
          ackedInLostSecond = [...ackedAt.values()].filter((at) => at > killAt - 1_000).length;
          const old = redis;
          old?.kill('SIGKILL');
          await exited(old);
          if (aof && latestIncrAof(tmp) === aof) {
            aofBytesDropped = statSync(aof).size - before;
            truncateSync(aof, before);
          }
          log(
            `    dropped the AOF's last ${aofBytesDropped} bytes; ${ackedInLostSecond} Outbound Messages had been acknowledged in that second`,
          );
          redis = await startRedis(tmp, redisPort);
        },
      ],
      [
        'Salesforce session expiry storm and UNABLE_TO_LOCK_ROW',
        () => {
          harness.sf.expireSessions({});
          harness.sf.injectFault({ kind: 'UNABLE_TO_LOCK_ROW', method: 'POST', path: '/composite', count: 5 });
        },
      ],
      [
        'SIGKILL mapper and fieldnation-writer; Field Nation 429 storm',
        async () => {
          harness.fn.injectFault({ method: 'POST', path: '/publish$', status: 429, retryAfterSeconds: 1, count: 20 });
          await harness.restart('mapper', 'SIGKILL');
          await harness.restart('fieldnation-writer', 'SIGKILL');
        },
      ],
      [
        `PostgreSQL stopped for ${pgOutageSeconds} s`,
        async () => {
          pgCtl('-m', 'fast', 'stop');
          // Salesforce keeps sending in the meantime: acknowledged work waits in Redis.
          createCases(Math.min(5, Math.max(0, options.records - ids.length)));
          await sleep(pgOutageSeconds * 1_000);
          pgStart();
        },
      ],
      [
        'Field Nation timeouts and creates committed after the broker gave up; duplicated and reordered webhooks; SIGKILL ingress',
        async () => {
          harness.fn.injectFault({ method: 'GET', path: '^/api/rest/v2/workorders$', latencyMs: 3_000, count: 3 });
          // The connection is cut without an answer and each work order appears 4 s later.
          lateCommit = harness.fn.injectFault({
            method: 'POST',
            path: '^/api/rest/v2/workorders$',
            commitAfterMs: 4_000,
            hangMs: 500,
            count: 5,
          });
          harness.fn.injectDeliveryFault({ kind: 'duplicate', count: 20 });
          harness.fn.injectDeliveryFault({ kind: 'reorder', count: 20 });
          await harness.restart('ingress', 'SIGKILL');
        },
      ],
      [
        `Salesforce accepts requests and never answers (logins, queries, composite, every REST call) for ${hangSeconds} s`,
        async () => {
          hang = harness.sf.injectFault({ kind: 'HANG', path: '^/services/', count: 0, durationMs: hangSeconds * 1_000 });
          await sleep(hangSeconds * 1_000);
        },
      ],
      [
        'SIGKILL salesforce-writer; duplicated Outbound Message notifications',
        async () => {
          await harness.restart('salesforce-writer', 'SIGKILL');
          for (const n of harness.sf.outbound({}).slice(0, 20)) {
            const body = `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>00D000000000001EAA</OrganizationId><ActionId>${n.actionId}</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>x</EnterpriseUrl><PartnerUrl>x</PartnerUrl><Notification><Id>${n.id}</Id><sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>${n.recordId}</sf:Id></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>`;
            await fetch(harness.outboundUrl, { method: 'POST', body, headers: { 'content-type': 'text/xml' } }).catch(() => undefined);
          }
        },
      ],
      ['Webhooks replayed: signed bodies re-POSTed under a new X-FN-Delivery-Id and with none', () => replayWebhooks(60)],
    ];
    const waves = schedule.length;
    const perWave = Math.ceil(options.records / waves);
    for (let w = 0; w < waves; w++) {
      createCases(Math.min(perWave, options.records - ids.length));
      const [name, act] = schedule[w]!;
      await fault(name, act);
      // On top of the wave's fault, one more app SIGKILLed in turn: each is killed two or three times a run.
      const victim = KILL_ROTATION[w % KILL_ROTATION.length]!;
      await fault(`SIGKILL ${victim}`, () => harness.restart(victim, 'SIGKILL'));
      await workSomeOrders(3);
      await sleep(1_000);
    }
    const hungRequests = hang ? (harness.sf.faults().find((f) => f.id === hang!.id)?.applied ?? 0) : 0;
    harness.fn.clearFaults();
    harness.sf.clearFaults();

    log(`  settling (up to ${options.settleSeconds} s)…`);
    const deadline = Date.now() + options.settleSeconds * 1000;
    let lostIds: string[] = ids;
    // One connection and one Queue per queue inspect the run: while settling, then for the figures.
    const inspect = new Redis(redisPort, '127.0.0.1', { maxRetriesPerRequest: 1 });
    inspect.on('error', () => undefined);
    const queues = new Map(allQueues.map((q) => [q.name, new Queue(q.name, { connection: inspect, prefix: harness.queuePrefix })]));
    const reconcileQueue = openQueue(sfReconcileQueue, inspect, harness.queuePrefix);
    const pendingJobs = async () => {
      let n = 0;
      // A job scheduler (the retention sweep) always has its next run delayed: that is not work left.
      for (const [, q] of queues)
        n += await Promise.all([q.getJobCountByTypes('wait', 'active', 'delayed', 'prioritized'), q.getJobSchedulersCount()])
          .then(([jobs, schedulers]) => jobs - schedulers)
          .catch(() => 1);
      return n;
    };
    // What Redis lost (an acknowledged Outbound Message's job, within everysec's last second) only a
    // sweep finds again: queued as `broker reconcile` queues it, once now and again whenever the
    // pipeline is idle with Cases still missing (each sweep feeds at most maxApiCalls - 1 records).
    let sweeps = 0;
    let lastSweep = 0;
    const sweep = async () => {
      sweeps++;
      lastSweep = Date.now();
      const id = jobId('reconcile-now', 'demo', 'Case', lastSweep);
      await enqueue(reconcileQueue, 'sweep', { connectionId: 'demo', sfObject: 'Case' }, { jobId: id }).catch((err) =>
        log(`  could not queue a sweep: ${(err as Error).message}`),
      );
      log(`  reconciliation sweep ${sweeps} queued (${id})`);
    };
    await sweep();
    // Settled when everything synced and the return path is quiet, or when nothing has moved for
    // 60 s and no job is left that could still move it (then what is missing is lost).
    let lastProgress = Date.now();
    let lastMissing = Infinity;
    let lastReport = Date.now();
    while (Date.now() < deadline) {
      const rows = await harness.prisma.correlation
        .findMany({ where: { connectionId: 'demo', sfId: { in: ids }, state: 'synced' }, select: { sfId: true } })
        .catch(() => []);
      const done = new Set(rows.map((r) => r.sfId));
      lostIds = ids.filter((id) => !done.has(id));
      const pending = await pendingJobs();
      const outboundPending = harness.sf.outbound({ status: 'pending' }).length;
      const webhooksPending = harness.fn
        .deliveries()
        .filter((d) => d.deliveryStatus === 'pending' || d.deliveryStatus === 'retrying').length;
      if (lostIds.length === 0 && pending === 0 && outboundPending === 0 && webhooksPending === 0) break;
      if (Date.now() - lastReport >= 15_000) {
        lastReport = Date.now();
        log(
          `    ${Math.round((Date.now() - t0) / 1000)} s: ${lostIds.length} Cases not synced yet; jobs pending ${pending}; Outbound Messages pending ${outboundPending}; webhooks pending ${webhooksPending}`,
        );
      }
      if (lostIds.length < lastMissing) {
        lastMissing = lostIds.length;
        lastProgress = Date.now();
      } else if (lostIds.length > 0 && pending === 0 && outboundPending === 0) {
        if (Date.now() - lastProgress > 60_000) break;
        if (Date.now() - lastSweep > 10_000) await sweep();
      }
      await sleep(1_000);
    }
    const perCase = new Map<string, number>();
    for (const wo of harness.fn.listWorkOrders()) {
      const id = String(wo.incident_id ?? '');
      if (ids.includes(id)) perCase.set(id, (perCase.get(id) ?? 0) + 1);
    }
    // Every CaseComment on the run's Cases, by Case and body: the return path writes one per
    // message and per commenting status event, and every such body is unique (message text, event time).
    const idSet = new Set(ids);
    const comments = harness.sf
      .query('SELECT Id, ParentId, CommentBody FROM CaseComment')
      .records.filter((r) => idSet.has(String(r.ParentId)));
    const perComment = new Map<string, number>();
    for (const c of comments) {
      const key = `${String(c.ParentId)}\u0000${String(c.CommentBody)}`;
      perComment.set(key, (perComment.get(key) ?? 0) + 1);
    }
    const duplicateComments = [...perComment.entries()].filter(([, n]) => n > 1);
    for (const [key] of duplicateComments.slice(0, 3)) log(`  duplicate CaseComment: ${key.replace('\u0000', ': ').slice(0, 160)}`);
    const reconciled = await harness.prisma.timelineEntry
      .findMany({ where: { connectionId: 'demo', stage: 'reconciled', sfId: { in: ids } }, select: { sfId: true }, distinct: ['sfId'] })
      .catch(() => []);
    const stuck: Record<string, Record<string, number>> = {};
    let deadLettered = 0;
    const failedReasons: string[] = [];
    for (const [name, q] of queues) {
      const counts = await q.getJobCounts('wait', 'active', 'delayed', 'failed', 'prioritized');
      stuck[name] = counts;
      deadLettered += counts.failed ?? 0;
      for (const job of await q.getFailed(0, 4)) failedReasons.push(`${name} ${job.id}: ${job.failedReason}`);
    }
    if (lostIds.length) {
      log(`  lost: ${lostIds.slice(0, 5).join(', ')}${lostIds.length > 5 ? ' …' : ''}`);
      for (const id of lostIds.slice(0, 2)) {
        log(
          `    ${id}: ${(await harness.store.timeline(id).catch(() => [])).map((t) => `${t.stage}/${t.outcome}${t.message ? ` (${t.message.slice(0, 80)})` : ''}`).join(' → ') || 'no timeline'}; outbound: ${JSON.stringify(
            harness.sf
              .outbound({})
              .filter((n) => n.recordId === id)
              .map((n) => n.status),
          )}`,
        );
        const c = await harness.store.getCorrelation({ connectionId: 'demo', sfId: id }).catch(() => null);
        log(
          `      correlation: ${c ? `${c.state} wo=${c.workOrderId} v${c.version}` : 'none'}; work orders: ${JSON.stringify(
            harness.fn
              .listWorkOrders()
              .filter((wo) => String(wo.incident_id) === id)
              .map((wo) => ({ id: wo.id, status: (wo.status as { name?: string } | undefined)?.name })),
          )}`,
        );
        // Every job about the record still in Redis, with its state (job ids carry the Salesforce id).
        const keys = (await inspect.keys(`${harness.queuePrefix}:*${id}*`)).filter((k) => !/:(logs|lock)$/.test(k));
        for (const key of keys.slice(0, 10)) {
          const [, queue, jid] = key.match(/^[^:]+:([^:]+):(.+)$/) ?? [];
          const state =
            (jid &&
              (await queues
                .get(queue ?? '')
                ?.getJobState(jid)
                .catch(() => '?'))) ||
            '?';
          const h = await inspect.hgetall(key).catch(() => ({}) as Record<string, string>);
          log(
            `      job ${key}: ${state} attemptsMade=${h.attemptsMade ?? '-'} stalled=${h.stc ?? '-'} failedReason=${h.failedReason ?? '-'} delay=${h.delay ?? '-'}`,
          );
        }
      }
    }
    await Promise.all([...queues.values(), reconcileQueue].map((q) => q.close()));
    inspect.disconnect();
    return {
      records_sent: ids.length,
      work_orders_created: perCase.size,
      duplicates: [...perCase.values()].filter((n) => n > 1).length,
      duplicate_case_comments: duplicateComments.reduce((sum, [, n]) => sum + n - 1, 0),
      case_comments: comments.length,
      lost: lostIds.length,
      stuck,
      dead_lettered: deadLettered,
      failed_reasons: failedReasons,
      faults,
      late_commits: lateCommit?.hits ?? 0,
      webhook_replays: replays,
      webhook_replays_accepted: replaysAccepted,
      salesforce_hung_requests: hungRequests,
      redis_aof_bytes_dropped: aofBytesDropped,
      redis_acked_in_lost_second: ackedInLostSecond,
      reconciliation_sweeps: sweeps,
      reconciled_records: reconciled.length,
      pg_outage_seconds: pgOutageSeconds,
      salesforce_hang_seconds: hangSeconds,
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
