import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeId } from '@broker/salesforce';
import { basic, startDashboard, type DashboardUnderTest } from './dashboard-test-kit';

let dash: DashboardUnderTest;
const caseId = makeId('500', 4242);
const otherCaseId = makeId('500', 4343);

beforeAll(async () => {
  dash = await startDashboard();
  const { correlation } = await dash.store.claimCorrelation({ connectionId: 'demo', sfObject: 'Case', sfId: caseId });
  await dash.store.updateCorrelation(correlation.id, correlation.version, { workOrderId: 9001, state: 'synced' });
  const t0 = Date.parse('2025-03-01T10:00:00Z');
  await dash.store.recordStage({
    connectionId: 'demo',
    sfId: caseId,
    stage: 'received',
    outcome: 'ok',
    queue: 'sf.fetch',
    jobId: 'om-demo-x1',
    at: new Date(t0),
  });
  await dash.store.recordStage({
    connectionId: 'demo',
    sfId: caseId,
    stage: 'fetched',
    outcome: 'ok',
    sfApiCalls: 1,
    at: new Date(t0 + 1000),
  });
  await dash.store.recordStage({
    connectionId: 'demo',
    sfId: caseId,
    stage: 'mapped',
    outcome: 'failed',
    message: 'required field <script>alert(1)</script> "title" missing',
    at: new Date(t0 + 2000),
  });
  await dash.store.recordStage({
    connectionId: 'demo',
    workOrderId: 9001,
    stage: 'event',
    outcome: 'ok',
    message: 'workorder.status.assigned',
    at: new Date(t0 + 3000),
  });
  await dash.store.recordStage({ connectionId: 'demo', sfId: otherCaseId, stage: 'received', outcome: 'ok', at: new Date(t0) });
});
afterAll(async () => {
  await dash?.close();
});

const get = (p: string) => fetch(`${dash.url}${p}`, { headers: { authorization: basic() } });
const csrfOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';

describe('timeline page', () => {
  it("shows a record's stages by Salesforce id, including rows stored under its work order id", async () => {
    const res = await get(`/timeline?id=${caseId}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await res.text();
    for (const stage of ['received', 'fetched', 'mapped', 'event']) expect(page).toContain(`data-stage="${stage}"`);
    expect(page).not.toContain(otherCaseId);
    expect(page).toContain('2025-03-01 10:00:01.000 UTC');
    expect(page).toContain('4 stage(s), 1 Salesforce API call(s).');
    expect(page).toContain('9001');
  });

  it('finds the same story by work order id and by the 15-character id', async () => {
    for (const id of ['9001', caseId.slice(0, 15)]) {
      const page = await (await get(`/timeline?id=${id}`)).text();
      expect(page, id).toContain('data-stage="fetched"');
      expect(page, id).toContain('data-stage="event"');
    }
  });

  it('escapes everything that comes from records and errors', async () => {
    const page = await (await get(`/timeline?id=${caseId}`)).text();
    expect(page).not.toContain('<script>');
    expect(page).toContain('required field &lt;script&gt;alert(1)&lt;/script&gt; &quot;title&quot; missing');
    const searched = await (await get(`/timeline?id=${encodeURIComponent('"><img src=x>')}`)).text();
    expect(searched).not.toContain('<img src=x>');
    expect(searched).toContain('&quot;&gt;&lt;img src=x&gt;');
  });

  it('says so when nothing is known', async () => {
    const page = await (await get('/timeline?id=500000000000999AAA')).text();
    expect(page).toContain('No timeline entries for this id.');
    expect(page).toContain('No correlation');
  });
});

describe('actions', () => {
  it("re-syncs a record: one sf.fetch job with a unique resync id and the correlation's object", async () => {
    const page = await (await get(`/timeline?id=${caseId}`)).text();
    const before = Date.now();
    const res = await fetch(`${dash.url}/actions/resync`, {
      method: 'POST',
      redirect: 'manual',
      headers: { authorization: basic(), origin: dash.url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrfOf(page), connectionId: 'demo', sfId: caseId, returnTo: caseId }),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/timeline\?id=.*done=resynced/);
    const jobs = await dash.fetchQueue.getJobs(['waiting']);
    expect(jobs).toHaveLength(1);
    const job = jobs[0]!;
    expect(job.name).toBe('fetch-record');
    expect(job.id).toMatch(new RegExp(`^resync-demo-${caseId}-\\d{13}$`));
    expect(Number(job.id!.split('-').pop())).toBeGreaterThanOrEqual(before);
    expect(job.data).toMatchObject({ connectionId: 'demo', sfObject: 'Case', sfId: caseId, source: 'resync', notificationId: job.id });
    expect(Date.parse(job.data.receivedAt)).toBeGreaterThanOrEqual(before - 1);
    const after = await (await get(res.headers.get('location')!)).text();
    expect(after).toContain(`Re-sync requested: job ${job.id} queued on sf.fetch.`);
    expect(after).toContain('data-stage="resync-requested"');
  });

  it('refuses to re-sync a record it has no correlation for', async () => {
    const page = await (await get(`/timeline?id=${caseId}`)).text();
    const res = await fetch(`${dash.url}/actions/resync`, {
      method: 'POST',
      headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: new URLSearchParams({ _csrf: csrfOf(page), connectionId: 'demo', sfId: otherCaseId }),
    });
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('no correlation for');
  });

  it('refuses to replay a job that is not failed', async () => {
    const page = await (await get(`/timeline?id=${caseId}`)).text();
    const res = await fetch(`${dash.url}/actions/replay`, {
      method: 'POST',
      headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ _csrf: csrfOf(page), queue: 'map', jobId: 'nope' }),
    });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toMatch(/no longer in map/);
  });
});

describe('metrics', () => {
  it('exports queue depth per queue and state', async () => {
    const failedQueue = dash.queue('fn.write');
    await failedQueue.add('write-work-order', {}, { jobId: 'metrics-probe', delay: 60_000 });
    const text = await (await fetch(`${dash.url}/metrics`, { headers: { authorization: basic() } })).text();
    expect(text).toContain('# TYPE broker_queue_jobs gauge');
    expect(text).toMatch(/broker_queue_jobs\{queue="fn\.write",state="delayed",service="dashboard-test"\} 1/);
    for (const state of ['waiting', 'active', 'delayed', 'failed', 'completed']) {
      expect(text).toContain(`broker_queue_jobs{queue="sf.write",state="${state}"`);
    }
  });
});
