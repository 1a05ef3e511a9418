import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FieldNationSim } from '../src/index';
import { getToken, quietLogger, restApi, type ApiResponse } from './sim-test-helpers';
import { startFieldNationSim } from '../src/index';

// With the contract check ON: every request and answer below must fit rest-v2.yaml's attachment
// operations (a violation fails the file through the process-wide check of the test setup).
describe('attachments (rest-v2.yaml work-orders.attachments)', () => {
  let sim: FieldNationSim;
  let token: string;
  let api: (method: string, path: string, body?: unknown) => Promise<ApiResponse>;
  let workOrderId: number;

  const upload = async (folderId: number, parts: { name: string; content: string; type?: string; notes?: string }) => {
    const form = new FormData();
    form.set('file', new Blob([parts.content], { type: parts.type ?? 'application/pdf' }), parts.name);
    if (parts.notes) form.set('notes', parts.notes);
    const url = new URL(`${sim.restUrl}/workorders/${workOrderId}/attachments/${folderId}`);
    url.searchParams.set('access_token', token);
    const res = await fetch(url, { method: 'POST', body: form });
    return { status: res.status, body: (await res.json()) as any };
  };

  beforeAll(async () => {
    sim = await startFieldNationSim({ timeFactor: 1000, logger: quietLogger(), rateLimit: false, attachmentMaxBytes: 1024 });
  });
  beforeEach(async () => {
    sim.reset();
    token = await getToken(sim);
    api = restApi(sim, token);
    workOrderId = (await api('POST', '/workorders', { title: 'Fix the door' })).body.id;
  });
  afterAll(async () => sim?.close());

  it('creates a folder, takes a multipart upload with notes, lists it and serves its link', async () => {
    const folder = await api('POST', `/workorders/${workOrderId}/attachments`, { name: 'Salesforce files' });
    expect(folder.status).toBe(200);
    const folderId = folder.body.attachments.results.find((f: { name: string }) => f.name === 'Salesforce files').id;

    const up = await upload(folderId, { name: 'site-plan.pdf', content: '%PDF-1.4 plan', notes: 'from Salesforce 068xx' });
    expect(up.status).toBe(200);
    const listed = await api('GET', `/workorders/${workOrderId}/attachments`);
    const file = listed.body.results[0].results[0];
    expect(file).toMatchObject({
      folder_id: folderId,
      notes: 'from Salesforce 068xx',
      author: { id: 1068 },
      file: { name: 'site-plan.pdf', mime: 'application/pdf', size_bytes: 13 },
    });
    const download = await fetch(file.file.link);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('%PDF-1.4 plan');
    // The link is signed: another signature (or none) gets nothing.
    expect((await fetch(file.file.link.replace(/signature=\w+/, 'signature=00'))).status).toBe(404);
    // The API user's upload is not a provider upload: no webhook event for it.
    expect(sim.deliveries().filter((d) => d.eventName === 'workorder.provider_upload')).toEqual([]);
    expect(sim.counters().routes['POST /api/rest/v2/workorders/:id/attachments/:id']).toMatchObject({ calls: 1 });
  });

  it('a technician upload lands in Deliverables, its bytes on disk', async () => {
    sim.registerWebhook({ url: 'http://127.0.0.1:9/none', events: ['workorder.provider_upload'] });
    const id = sim.technician.upload(workOrderId, { name: 'photo.jpg', mime: 'image/jpeg', content: Buffer.from([1, 2, 3]) });
    const [info] = sim.attachmentsOf(workOrderId);
    expect(info).toMatchObject({ id, folder: 'Deliverables', name: 'photo.jpg', size: 3, authorId: 557 });
    expect([...readFileSync(info!.path)]).toEqual([1, 2, 3]);
    expect(sim.deliveries()).toEqual([expect.objectContaining({ eventName: 'workorder.provider_upload' })]);
  });

  it('refuses an upload without a file, to an unknown folder, and over the size limit', async () => {
    const folder = await api('POST', `/workorders/${workOrderId}/attachments`, { name: 'F' });
    const folderId = folder.body.attachments.results[0].id;
    expect((await upload(folderId + 1000, { name: 'a.pdf', content: 'x' })).status).toBe(404);
    const tooBig = await upload(folderId, { name: 'big.pdf', content: 'x'.repeat(2048) });
    expect(tooBig.status).toBe(413);
    expect(sim.attachmentsOf(workOrderId)).toEqual([]);

    const form = new FormData();
    form.set('notes', 'no file');
    const url = new URL(`${sim.restUrl}/workorders/${workOrderId}/attachments/${folderId}`);
    url.searchParams.set('access_token', token);
    const res = await fetch(url, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    // Off-contract on purpose (the definition requires `file`): taken so the file's check passes.
    expect(sim.takeContractViolations()).toEqual([expect.objectContaining({ direction: 'request', status: 400 })]);
  });
});
