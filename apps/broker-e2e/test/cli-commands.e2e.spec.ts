// The operator CLI as operators run it (its own process, main.ts through tsx, the apps' env) against
// the whole broker and both simulators: every command on a Case that really went through the pipeline.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMappingFile } from '@broker/mapping';
import { buildRecordQuery } from '@broker/salesforce';
import { root } from '../../../scripts/lib/app-processes';
import { createDispatchCase, startHarness, type Harness } from '../../../scripts/lib/broker-harness';

let h: Harness;
let dir: string;
beforeAll(async () => {
  h = await startHarness();
  dir = mkdtempSync(path.join(os.tmpdir(), 'broker-cli-e2e-'));
});
afterAll(async () => {
  await h?.stop();
});

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** `npm run broker -- <args>`, minus npm: a child process with the environment the apps get. */
function broker(...args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', path.join(root, 'apps/cli/src/main.ts'), ...args],
      { cwd: root, env: { ...process.env, ...h.env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        if (code === null) reject(new Error(`broker ${args.join(' ')} did not finish: ${err?.message}\n${stderr}`));
        else resolve({ code, stdout, stderr });
      },
    );
  });
}

/** [stage, outcome] per row of `broker timeline`'s stage table. */
const stagesOf = (stdout: string) =>
  [...stdout.matchAll(/^\d{4}-\d\d-\d\dT[\d:.]+Z\s+demo\s+(\S+)\s+(\S+)/gm)].map((m) => `${m[1]} ${m[2]}`);

const MAPPING = path.join(root, 'config/mappings/case-to-work-order.yaml');
const createCase = (subject: string) => createDispatchCase(h.sf, subject);

/** Synced and written back: the last stage of the forward path is done. */
async function synced(caseId: string): Promise<number> {
  const c = await h.waitFor(`${caseId} synced and written back`, async () => {
    const row = await h.synced(caseId);
    return row && (await h.store.timeline(caseId)).some((t) => t.stage === 'sf-written' && t.outcome === 'ok') ? row : undefined;
  });
  return c.workOrderId!;
}

const simControl = async (base: string, method: string, p: string, body?: unknown) => {
  const res = await fetch(`${base}/__sim${p}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect(res.ok, `${method} ${p}`).toBe(true);
  return (await res.json()) as Record<string, unknown>;
};

describe('broker CLI on real data', () => {
  let caseId: string;
  let workOrderId: number;

  it('config validate: accepts the config the apps run with', async () => {
    const run = await broker('config', 'validate');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`${h.configFile} is valid: 1 connection(s)`);
    expect(run.stdout).toMatch(/demo: objects Case, CaseComment; event rules/);
  });

  it('timeline: a Case synced through the simulators, by Salesforce id and by work order id', async () => {
    caseId = createCase('CLI timeline');
    workOrderId = await synced(caseId);
    const expected = ['received ok', 'fetched ok', 'mapped ok', 'written ok', 'sf-written ok'];
    // Also the 15-character form, all digits for the simulator's early ids (500000000000006): a
    // Salesforce id, never a work order id.
    for (const id of [caseId, caseId.slice(0, 15), String(workOrderId)]) {
      const run = await broker('timeline', id);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout, id).toMatch(new RegExp(`demo\\s+Case\\s+${caseId}\\s+${workOrderId}\\s+synced`));
      const stages = stagesOf(run.stdout);
      // Field Nation's webhooks for the new work order (published, routed) land as `event` rows
      // whenever they arrive; the rules act on none of them.
      expect(
        stages.filter((s) => !s.startsWith('event ')),
        id,
      ).toEqual(expected);
      expect(
        stages.filter((s) => s.startsWith('event ')).every((s) => s === 'event skipped'),
        id,
      ).toBe(true);
      expect(run.stdout, id).toContain(`work order ${workOrderId} created`);
      // One fetch and one write-back: the only Salesforce calls a synced record costs.
      expect(run.stdout, id).toContain(`${stages.length} stage(s), 2 Salesforce API call(s)`);
    }
    const unknown = await broker('timeline', '500000000000999AAA');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('nothing known about');
  });

  it('mapping preview: the record read from Salesforce maps to the payload the broker sent', async () => {
    // Read the Case as the fetcher does: one SOQL query of the mapping's fields, through jsforce.
    const conn = new jsforce.Connection({ loginUrl: h.sf.url, version: '62.0' });
    await conn.login('integration@example.com', 'sim-passwordSIMTOKEN');
    const { records } = await conn.query(buildRecordQuery('Case', loadMappingFile(MAPPING).reads, caseId));
    expect(records).toHaveLength(1);
    const recordFile = path.join(dir, 'record.json');
    writeFileSync(recordFile, JSON.stringify(records[0]));

    const run = await broker('mapping', 'preview', MAPPING, recordFile);
    expect(run.code, run.stderr).toBe(0);
    const payload = JSON.parse(run.stdout) as Record<string, unknown>;
    const correlation = await h.store.getCorrelation({ connectionId: 'demo', sfId: caseId });
    expect(payload).toEqual(correlation!.lastPayload);
    expect(h.fn.getWorkOrder(workOrderId)!.title).toBe(payload.title);
    expect(run.stderr).toMatch(/reads \d+ Salesforce field\(s\): .*Account\.Name/);

    // A broken record shows the mapping's errors, not a payload.
    writeFileSync(recordFile, JSON.stringify({ ...records[0], Subject: null, CaseNumber: null, Account: null }));
    const bad = await broker('mapping', 'preview', MAPPING, recordFile);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`mapping ${MAPPING} failed on ${recordFile}:`);
  });

  it('replay: lists, then retries, the work orders Field Nation refused while it rejected creates', async () => {
    const fault = await simControl(h.fn.url, 'POST', '/faults', { method: 'POST', path: '^/api/rest/v2/workorders$', status: 422 });
    const refused = createCase('CLI replay');
    const failed = await h.waitFor('fn.write failure on the timeline', async () =>
      (await h.store.timeline(refused)).find((t) => t.stage === 'written' && t.outcome === 'failed'),
    );
    expect(failed.message).toMatch(/Field Nation rejected the request \(422\)/);
    expect(h.fn.listWorkOrders().filter((w) => w.incident_id === refused)).toHaveLength(0);

    const dry = await broker('replay', '--queue', 'fn.write', '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(failed.jobId!);
    expect(dry.stdout).toContain('422');
    expect(dry.stdout).toContain('1 failed job(s) in fn.write would be retried (dry run: nothing changed)');
    // A dry run changes nothing: still failed, still no work order.
    await new Promise((r) => setTimeout(r, 500));
    expect(h.fn.listWorkOrders().filter((w) => w.incident_id === refused)).toHaveLength(0);
    expect((await h.store.getCorrelation({ connectionId: 'demo', sfId: refused }))?.state).not.toBe('synced');

    await simControl(h.fn.url, 'DELETE', `/faults/${String(fault.id)}`);
    const run = await broker('replay', '--queue', 'fn.write', '--since', '10m');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^retried 1 failed job\(s\) in fn\.write failed since/);
    const replayedWorkOrder = await synced(refused);
    expect(
      h.fn
        .listWorkOrders()
        .filter((w) => w.incident_id === refused)
        .map((w) => Number(w.id)),
    ).toEqual([replayedWorkOrder]);
    // The failed outcome's write was an sf-written row too: the synced outcome (the id) may land a moment later.
    await h.waitFor(
      'the work order id on the Case',
      () => h.sf.getRecord(refused)!.Field_Nation_Work_Order_Id__c === String(replayedWorkOrder),
    );
    expect(h.sf.getRecord(refused)!.Field_Nation_Sync_Status__c).toBe('Synced');
    const timeline = (await h.store.timeline(refused)).map((t) => `${t.stage} ${t.outcome}`);
    expect(timeline.slice(timeline.indexOf('written failed'))).toEqual(expect.arrayContaining(['written ok', 'sf-written ok']));

    expect((await broker('replay', '--queue', 'fn.write')).stdout.trim()).toBe('no failed jobs in fn.write');
  });

  it('resync: reads the Case again and updates its work order', async () => {
    // Changed by the integration user: the flow sends no Outbound Message (as after a data load), so
    // only a re-sync brings the change to Field Nation.
    h.sf.updateRecord('Case', caseId, { Subject: 'CLI timeline, rescheduled' }, { as: 'integration@example.com' });
    const before = (await h.store.timeline(caseId)).length;
    const run = await broker('resync', caseId);
    expect(run.code, run.stderr).toBe(0);
    const jobId = /job (resync-demo-\S+) on sf\.fetch/.exec(run.stdout)?.[1];
    expect(jobId, run.stdout).toBeDefined();

    await h.waitFor('work order updated', () => String(h.fn.getWorkOrder(workOrderId)!.title).includes('CLI timeline, rescheduled'));
    const rows = await h.waitFor('written stage after the re-sync', async () => {
      const all = (await h.store.timeline(caseId)).slice(before);
      return all.some((t) => t.stage === 'written') ? all : undefined;
    });
    // `received` carries the request's time, so it may sort before the request's own row. The sync
    // outcome (sf-written) is not written again: the Case already shows it.
    expect(
      rows
        .filter((t) => t.stage !== 'sf-written')
        .map((t) => `${t.stage} ${t.outcome}`)
        .sort(),
    ).toEqual(['fetched ok', 'mapped ok', 'received ok', 'resync-requested ok', 'written ok']);
    expect(rows.find((t) => t.stage === 'fetched')).toMatchObject({ jobId, sfApiCalls: 1 });
    expect(rows.filter((t) => t.stage === 'written').at(-1)!.message).toBe(`work order ${workOrderId} updated`);
    expect(h.fn.listWorkOrders().filter((w) => w.incident_id === caseId)).toHaveLength(1);
  });

  it('salesforce metadata: the Outbound Message points at the ingress route the Case was delivered to', async () => {
    const out = path.join(dir, 'metadata');
    const run = await broker('salesforce', 'metadata', '--out', out);
    expect(run.code, run.stderr).toBe(0);
    const text = readFileSync(path.join(out, 'workflows/Case.workflow-meta.xml'), 'utf8');
    expect(XMLValidator.validate(text)).toBe(true);
    const om = new XMLParser({ parseTagValue: false }).parse(text).Workflow.outboundMessages as Record<string, string>;
    expect(om).toMatchObject({ fullName: 'Broker_demo_Case', fields: 'Id', integrationUser: 'integration@example.com' });
    expect(om.endpointUrl).toBe(h.outboundUrl);
    // The simulated org's Outbound Message uses that URL, and the ingress took the Case's notification there.
    const dispatch = h.sf.outboundMessages().find((m) => m.name === 'Field_Nation_Case_Dispatch')!;
    expect(dispatch.endpointUrl).toBe(om.endpointUrl);
    expect(h.sf.outbound({ status: 'delivered' }).some((n) => n.recordId === caseId)).toBe(true);
    const flow = new XMLParser({ parseTagValue: false }).parse(
      readFileSync(path.join(out, 'flows/Broker_demo_Case_to_Field_Nation.flow-meta.xml'), 'utf8'),
    ).Flow;
    expect(flow.start.object).toBe('Case');
    expect(flow.actionCalls.actionName).toBe('Case.Broker_demo_Case');
  });
});
