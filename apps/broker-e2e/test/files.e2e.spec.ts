// Files both ways (issue 15, part 5), over both simulators and every app as a process, for a custom
// object (Service_Ticket__c) and for a Case (completion): exactly once, no echo, bad input refused,
// a writer killed mid-copy, and a 50 MB file with the writers' peak RSS measured.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileLinks, type FileLinks } from '@broker/store';
import { createDispatchCase, PUBLISHED_CASE, startHarness, type Harness } from '../../../scripts/lib/broker-harness';
import type { AppName } from '../../../scripts/lib/app-processes';

const MAX_BYTES = 60 * 1024 * 1024;
const FOLDER = 'Salesforce files';
const PROVIDER = 557;
const dispatcher = { as: 'dispatcher@example.com' };
const tmp = mkdtempSync(path.join(os.tmpdir(), 'files-e2e-'));

let h: Harness;
let links: FileLinks;

beforeAll(async () => {
  const ticketMapping = path.join(tmp, 'ticket-to-work-order.yaml');
  writeFileSync(ticketMapping, 'object: Service_Ticket__c\nfields:\n  title: { from: Subject__c, required: true }\n');
  h = await startHarness({
    // The apps run as the Docker image runs them (esbuild bundles, rebuilt when stale, its NODE_OPTIONS):
    // the memory target is about a deployed writer; tsx's in-process transpiling alone peaks at 165-200 MB.
    bundled: true,
    caseObject: `${PUBLISHED_CASE}\n      Service_Ticket__c: { mapping: ${ticketMapping}, trigger: "Send_to_Field_Nation__c = true" }`,
    connectionExtra: [
      '    files:',
      '      toSalesforce: true',
      `      toFieldNation: { folder: "${FOLDER}", pollEvery: "*/2 * * * * *" }`,
      `      maxBytes: ${MAX_BYTES}`,
      '      allowedTypes: [pdf, jpg, png, txt, bin]',
      '',
    ].join('\n'),
    extraWebhookEvents: ['workorder.provider_upload'],
    salesforceSim: { outboundRetryBaseMs: 500 },
  });
  links = createFileLinks(h.prisma);
  // The ticket's record-triggered Flow and Outbound Message, as `broker salesforce metadata` would make them.
  h.sf.defineOutboundMessage({
    name: 'Field_Nation_Ticket_Dispatch',
    object: 'Service_Ticket__c',
    endpointUrl: h.outboundUrl,
    integrationUser: 'integration@example.com',
    fields: ['Name', 'Send_to_Field_Nation__c'],
  });
  h.sf.defineFlow({
    name: 'Send_Ticket_to_Field_Nation',
    object: 'Service_Ticket__c',
    trigger: 'createOrUpdate',
    condition: { all: [{ field: 'Send_to_Field_Nation__c', equals: true }, { userNot: 'integration@example.com' }] },
    outboundMessage: 'Field_Nation_Ticket_Dispatch',
  });
}, 120_000);
afterAll(async () => {
  await h?.stop();
});

async function syncedTicket(subject: string): Promise<{ ticketId: string; workOrderId: number }> {
  const ticketId = h.sf.createRecord(
    'Service_Ticket__c',
    { Name: subject.slice(0, 80), Subject__c: subject, Send_to_Field_Nation__c: true },
    dispatcher,
  );
  const c = await h.waitForSynced(ticketId);
  return { ticketId, workOrderId: c.workOrderId! };
}

const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const sfFiles = (recordId: string) => h.sf.filesOf(recordId);
const fnFiles = (workOrderId: number) => h.fn.attachmentsOf(workOrderId);
const sfCalls = (endpoint: string) => h.sf.counters().apiCalls.byEndpoint[endpoint] ?? 0;
const fnCalls = (route: string) => h.fn.counters().routes[route]?.calls ?? 0;
/** Several polls and deliveries later: what was going to be copied has been. */
const settle = async () => {
  await h.fn.waitForDeliveries(20_000);
  await new Promise((r) => setTimeout(r, 5_000));
};

async function bigFile(name: string, bytes: number): Promise<string> {
  const file = path.join(tmp, name);
  const chunk = randomBytes(1024 * 1024);
  async function* chunks() {
    for (let left = bytes; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
  }
  await pipeline(chunks, createWriteStream(file));
  return file;
}

/** Resident memory of an app process (VmRSS), or its peak since it started (VmHWM), in MB. */
function rssMb(name: AppName, field: 'VmRSS' | 'VmHWM' = 'VmHWM'): number {
  const status = readFileSync(`/proc/${h.apps.get(name)!.child.pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)![1]) / 1024;
}

describe('files both ways for a custom object', () => {
  it('copies a provider upload to the ticket’s Salesforce Files once, and never back', async () => {
    const { ticketId, workOrderId } = await syncedTicket('Badge reader photos');
    h.sf.resetCounters();
    h.fn.resetCounters();
    const content = Buffer.concat([Buffer.from('\xff\xd8\xff'), randomBytes(2048)]);
    const attachmentId = h.fn.technician.upload(workOrderId, { name: 'reader.jpg', mime: 'image/jpeg', content }, { providerId: PROVIDER });
    const [copy] = await h.waitFor('the copy in Salesforce', () => (sfFiles(ticketId).length === 1 ? sfFiles(ticketId) : undefined));
    expect(copy).toMatchObject({
      pathOnClient: 'reader.jpg',
      size: content.length,
      description: `Copied from Field Nation work order ${workOrderId} (attachment ${attachmentId})`,
      createdById: h.sf.actingUserId('integration@example.com'),
    });
    expect(readFileSync(copy!.path).equals(content)).toBe(true);
    await settle();
    // Exactly once, and the poll did not send the copy back to the work order.
    expect(sfFiles(ticketId)).toHaveLength(1);
    expect(fnFiles(workOrderId)).toHaveLength(1);
    // Per file: one Salesforce call (the ContentVersion insert); the polls are per connection, not per file.
    expect(sfCalls('POST /sobjects/ContentVersion')).toBe(1);
    expect(fnCalls('GET /api/rest/v2/workorders/:id/attachments')).toBe(1);
    expect(fnCalls('GET /downloads/attachments/:id')).toBe(1);
    expect(await links.ofRecord('demo', ticketId)).toEqual([
      expect.objectContaining({ direction: 'fn_to_sf', sourceId: String(attachmentId), targetId: copy!.contentVersionId, state: 'done' }),
    ]);
  });

  it('uploads a file attached to the ticket in Salesforce to the work order’s folder once, and never back', async () => {
    const { ticketId, workOrderId } = await syncedTicket('Site plan');
    const content = Buffer.from('%PDF-1.7 site plan ' + randomBytes(512).toString('hex'));
    h.sf.resetCounters();
    const { contentVersionId } = h.sf.attachFile(ticketId, { name: 'site-plan.pdf', content }, dispatcher);
    const [upload] = await h.waitFor(
      'the upload on the work order',
      () => (fnFiles(workOrderId).length ? fnFiles(workOrderId) : undefined),
      30_000,
    );
    expect(upload).toMatchObject({
      folder: FOLDER,
      name: 'site-plan.pdf',
      notes: `Copied from Salesforce (file ${contentVersionId})`,
      authorId: 1068,
    });
    expect(readFileSync(upload!.path).equals(content)).toBe(true);
    await settle();
    expect(fnFiles(workOrderId)).toHaveLength(1);
    expect(sfFiles(ticketId)).toHaveLength(1);
    // The API user's upload raises no provider_upload, and the listing's own copy is recognised anyway.
    expect(h.fn.deliveries().filter((d) => d.workOrderId === workOrderId && d.eventName === 'workorder.provider_upload')).toEqual([]);
    // Per file: one VersionData download; each poll is one query whatever the number of records.
    expect(sfCalls('GET /sobjects/ContentVersion/{id}/VersionData')).toBe(1);
    expect(sfCalls('GET /query')).toBeGreaterThan(0);
  });

  it('skips a type outside the allow-list and a file over the cap, before any download, and says so on the timeline', async () => {
    const { ticketId, workOrderId } = await syncedTicket('Bad files');
    h.fn.technician.upload(workOrderId, { name: 'setup.exe', mime: 'application/x-msdownload', content: 'MZ' }, { providerId: PROVIDER });
    const huge = path.join(tmp, 'huge.bin');
    writeFileSync(huge, '');
    truncateSync(huge, MAX_BYTES + 1); // sparse: no bytes written, the size is what counts
    h.fn.technician.upload(workOrderId, { name: 'huge.bin', path: huge }, { providerId: PROVIDER });
    const skipped = await h.waitFor('both skipped', async () => {
      const rows = await links.ofRecord('demo', ticketId);
      return rows.length === 2 && rows.every((r) => r.state === 'skipped') ? rows : undefined;
    });
    expect(skipped.map((r) => [r.fileName, r.reason])).toEqual([
      ['setup.exe', expect.stringMatching(/^type not allowed \(\.exe, application\/x-msdownload\)/)],
      ['huge.bin', expect.stringMatching(/^too large/)],
    ]);
    expect(sfFiles(ticketId)).toEqual([]);
    const timeline = await h.store.timeline(ticketId);
    expect(timeline.filter((t) => t.stage === 'file' && t.outcome === 'skipped').map((t) => t.message)).toEqual([
      expect.stringContaining('"setup.exe" not copied: type not allowed'),
      expect.stringContaining('"huge.bin" not copied: too large'),
    ]);
    // Salesforce → Field Nation: the same policy, from ContentSize before the download.
    h.sf.resetCounters();
    h.sf.attachFile(ticketId, { name: 'macro.docm', content: 'x' }, dispatcher);
    await h.waitFor('refused', async () =>
      (await links.ofRecord('demo', ticketId)).some((r) => r.fileName === 'macro.docm' && r.state === 'skipped'),
    );
    expect(sfCalls('GET /sobjects/ContentVersion/{id}/VersionData')).toBe(0);
    expect(fnFiles(workOrderId).every((a) => a.folder !== FOLDER)).toBe(true);
  });

  it('a failed upload (Salesforce answering 503 mid-stream) is retried and lands once', async () => {
    const { ticketId, workOrderId } = await syncedTicket('Flaky upload');
    h.sf.injectFault({ kind: 'HTTP_5XX', method: 'POST', path: '/sobjects/ContentVersion', count: 1 });
    h.fn.technician.upload(workOrderId, { name: 'flaky.png', content: randomBytes(300_000) }, { providerId: PROVIDER });
    await h.waitFor('the copy', () => sfFiles(ticketId).length === 1, 60_000);
    await settle();
    expect(sfFiles(ticketId)).toHaveLength(1);
  });
});

describe('a writer killed mid-copy', () => {
  it('salesforce-writer SIGKILLed while the file is on its way: it arrives exactly once', async () => {
    const { ticketId, workOrderId } = await syncedTicket('Kill the Salesforce writer');
    const file = await bigFile('kill-sf.bin', 8 * 1024 * 1024);
    const digest = sha(file);
    // Salesforce holds the upload for a while: the writer has downloaded and is sending when it dies.
    h.sf.injectFault({ kind: 'LATENCY', method: 'POST', path: '/sobjects/ContentVersion', latencyMs: 5_000, count: 1 });
    const before = sfCalls('POST /sobjects/ContentVersion');
    h.fn.technician.upload(workOrderId, { name: 'kill-sf.bin', path: file }, { providerId: PROVIDER });
    await h.waitFor('the upload started', () => sfCalls('POST /sobjects/ContentVersion') > before, 30_000);
    await h.restart('salesforce-writer', 'SIGKILL');
    const [copy] = await h.waitFor('the copy', () => (sfFiles(ticketId).length ? sfFiles(ticketId) : undefined), 90_000);
    await settle();
    expect(sfFiles(ticketId)).toHaveLength(1);
    expect(sha(copy!.path)).toBe(digest);
    expect(await links.ofRecord('demo', ticketId)).toEqual([expect.objectContaining({ state: 'done', targetId: copy!.contentVersionId })]);
  }, 180_000);

  it('fieldnation-writer SIGKILLed while the file is on its way: it arrives exactly once', async () => {
    const { ticketId, workOrderId } = await syncedTicket('Kill the Field Nation writer');
    const file = await bigFile('kill-fn.bin', 8 * 1024 * 1024);
    const digest = sha(file);
    h.fn.injectFault({ method: 'POST', path: '^/api/rest/v2/workorders/\\d+/attachments/\\d+$', latencyMs: 5_000, count: 1 });
    const before = fnCalls('POST /api/rest/v2/workorders/:id/attachments/:id');
    h.sf.attachFile(ticketId, { name: 'kill-fn.bin', path: file }, dispatcher);
    await h.waitFor('the download started', () => sfCalls('GET /sobjects/ContentVersion/{id}/VersionData') > 0, 30_000);
    await new Promise((r) => setTimeout(r, 1_000));
    await h.restart('fieldnation-writer', 'SIGKILL');
    const [upload] = await h.waitFor('the upload', () => (fnFiles(workOrderId).length ? fnFiles(workOrderId) : undefined), 90_000);
    await settle();
    expect(fnFiles(workOrderId)).toHaveLength(1);
    expect(sha(upload!.path)).toBe(digest);
    expect(fnCalls('POST /api/rest/v2/workorders/:id/attachments/:id')).toBeGreaterThan(before);
  }, 180_000);
});

describe('completion and size', () => {
  it('at work done, deliverables that raised no upload event reach the Case', async () => {
    const caseId = createDispatchCase(h.sf, 'Deliverables at completion');
    const workOrderId = (await h.waitForSynced(caseId)).workOrderId!;
    // A dispatcher's file in the Field Nation UI: no provider_upload event for it.
    h.fn.buyer.upload(workOrderId, { name: 'signoff.pdf', content: '%PDF sign-off' });
    await settle();
    expect(sfFiles(caseId)).toEqual([]);
    h.fn.buyer.assign(workOrderId, PROVIDER);
    h.fn.technician.checkIn(workOrderId, { providerId: PROVIDER });
    h.fn.technician.checkOut(workOrderId, { providerId: PROVIDER });
    h.fn.technician.complete(workOrderId, { providerId: PROVIDER });
    await h.waitFor('the deliverable on the Case', () => sfFiles(caseId).length === 1, 30_000);
    expect(sfFiles(caseId)[0]).toMatchObject({ pathOnClient: 'signoff.pdf' });
  });

  it('copies a 50 MB file each way with both writers’ peak RSS under 200 MB', async () => {
    const { ticketId, workOrderId } = await syncedTicket('Fifty megabytes');
    const size = 50 * 1024 * 1024;
    const writers: AppName[] = ['salesforce-writer', 'fieldnation-writer'];
    // Sampled every 20 ms while the copies run, beside the kernel's own peak (VmHWM).
    const before = Object.fromEntries(writers.map((w) => [w, { rss: rssMb(w, 'VmRSS'), hwm: rssMb(w) }]));
    const sampled: Record<string, number> = Object.fromEntries(writers.map((w) => [w, 0]));
    const sampler = setInterval(() => {
      for (const w of writers) sampled[w] = Math.max(sampled[w]!, rssMb(w, 'VmRSS'));
    }, 20);
    try {
      const up = await bigFile('fifty-fn.bin', size);
      const upDigest = sha(up);
      const started = Date.now();
      h.fn.technician.upload(workOrderId, { name: 'fifty-fn.bin', path: up }, { providerId: PROVIDER });
      const [copy] = await h.waitFor('50 MB in Salesforce', () => (sfFiles(ticketId).length ? sfFiles(ticketId) : undefined), 120_000);
      const toSalesforceMs = Date.now() - started;
      expect(copy!.size).toBe(size);
      expect(sha(copy!.path)).toBe(upDigest);

      const down = await bigFile('fifty-sf.bin', size);
      const downDigest = sha(down);
      const started2 = Date.now();
      h.sf.attachFile(ticketId, { name: 'fifty-sf.bin', path: down }, dispatcher);
      const upload = await h.waitFor('50 MB on the work order', () => fnFiles(workOrderId).find((a) => a.name === 'fifty-sf.bin'), 120_000);
      const toFieldNationMs = Date.now() - started2;
      expect(upload.size).toBe(size);
      expect(sha(upload.path)).toBe(downDigest);

      const after = Object.fromEntries(writers.map((w) => [w, { hwm: rssMb(w), sampledMax: sampled[w] }]));
      console.log(
        `files-50mb: ${JSON.stringify({ before, after, toSalesforceMs, toFieldNationMs, node: process.version, cpus: os.cpus().length })}`,
      );
      for (const w of writers) expect(after[w]!.hwm).toBeLessThan(200);
    } finally {
      clearInterval(sampler);
    }
  }, 300_000);
});
