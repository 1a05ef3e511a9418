// `npm run demo` (scripts/demo.ts) as a user runs it: a child process on ports of its own, read until
// its "look around" printout, then checked through the simulators' own APIs (not its printout): the
// Cases' work orders, the Case that fails on purpose, the Service_Ticket__c's work order, Chatter both
// ways, the technician's photo in the ticket's Files and the dispatcher's file on the work order.
// Ctrl-C (SIGINT) must stop it all cleanly: exit 0.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root } from '../../../scripts/lib/app-processes';
import { deleteQueueKeys, dropDatabase, freePort } from '../../../scripts/lib/broker-harness';

const READY = 'Ctrl-C stops everything.';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const queuePrefix = `demoe2e${Date.now().toString(36)}`;
const adminUrl = new URL(process.env.TEST_DATABASE_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres');
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/demo_e2e_${Date.now().toString(36)}` }).toString();

let demo: ChildProcess;
let output = '';
let exited: Promise<number | null>;
let sfUrl: string;
let fnUrl: string;

/** The printout until `text` (or the demo's own failure line, or its exit). */
function printed(text: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no "${text}" within ${timeoutMs / 1000} s; output:\n${output}`)), timeoutMs);
    const check = () => {
      if (output.includes(text)) done();
      else if (output.includes('the demo could not finish')) done(new Error(`the demo failed:\n${output}`));
    };
    const onExit = (code: number | null) => done(new Error(`the demo exited (${code}) before "${text}":\n${output}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      demo.stdout!.off('data', check);
      demo.off('exit', onExit);
      if (err) reject(err);
      else resolve(output);
    };
    demo.stdout!.on('data', check);
    demo.once('exit', onExit);
    check();
  });
}

beforeAll(async () => {
  const [ingress, ops, dashboard, salesforce, fieldnation] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  sfUrl = `http://127.0.0.1:${salesforce}`;
  fnUrl = `http://127.0.0.1:${fieldnation}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    INGRESS_PORT: String(ingress),
    INGRESS_OPS_PORT: String(ops),
    DASHBOARD_PORT: String(dashboard),
    SF_SIM_PORT: String(salesforce),
    FN_SIM_PORT: String(fieldnation),
    DEMO_DATABASE_URL: databaseUrl,
    QUEUE_PREFIX: queuePrefix,
    REDIS_URL: redisUrl,
  };
  for (const key of ['HTTP_PROXY', 'HTTPS_PROXY', 'http_proxy', 'https_proxy', 'NODE_OPTIONS']) delete env[key];
  // Its own process group: should the demo die without stopping its apps, afterAll ends the whole group.
  demo = spawn(path.join(root, 'node_modules/.bin/tsx'), ['scripts/demo.ts'], { cwd: root, env, detached: true, stdio: 'pipe' });
  exited = new Promise((resolve) => demo.once('exit', (code) => resolve(code)));
  demo.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  demo.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  await printed(READY, 240_000);
}, 260_000);

afterAll(async () => {
  if (demo?.exitCode === null && demo.pid) {
    try {
      process.kill(-demo.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await dropDatabase(databaseUrl);
  const redis = new Redis(redisUrl);
  await deleteQueueKeys(redis, queuePrefix);
  redis.disconnect();
}, 60_000);

const control = async <T>(url: string, init?: RequestInit): Promise<T> => {
  const res = await fetch(url, init);
  expect(res.status, `${init?.method ?? 'GET'} ${url}`).toBe(200);
  return (await res.json()) as T;
};
const record = (type: string, id: string) => control<Record<string, unknown>>(`${sfUrl}/__sim/records/${type}/${id}`);
const query = async <T = Record<string, unknown>>(soql: string) =>
  (
    await control<{ records: T[] }>(`${sfUrl}/__sim/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ soql }),
    })
  ).records;
/** Field Nation's REST v2, as the buyer's API user reads it (the simulator's default credentials). */
async function fieldNation<T>(route: string): Promise<T> {
  const { access_token } = await control<{ access_token: string }>(`${fnUrl}/authentication/api/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'password',
      client_id: 'fn-sim-client',
      client_secret: 'fn-sim-secret',
      username: 'buyer@example.com',
      password: 'sim-password',
    }),
  });
  return control<T>(`${fnUrl}/api/rest/v2${route}?access_token=${access_token}`);
}

describe('npm run demo', () => {
  it('sends the Cases, and shows the one that fails on purpose as Failed with its reason', async () => {
    const cases = [...output.matchAll(/✓ Case (\w+) → work order (\d+)/g)];
    expect(cases).toHaveLength(3);
    for (const [, caseId, workOrderId] of cases) {
      expect(await record('Case', caseId!)).toMatchObject({ Field_Nation_Work_Order_Id__c: workOrderId });
      expect(await control(`${fnUrl}/__sim/workorders/${workOrderId}`)).toMatchObject({ incident_id: caseId });
    }
    const broken = /created Case (\w+) without a preferred service date/.exec(output)![1]!;
    expect(await record('Case', broken)).toMatchObject({
      Field_Nation_Sync_Status__c: 'Failed',
      Field_Nation_Sync_Message__c:
        'Mapping: schedule.service_window.start.utc: required value is missing: Preferred_Service_Date__c is null',
      Field_Nation_Work_Order_Id__c: null,
    });
  });

  it('sends the Service_Ticket__c, with Chatter both ways and files both ways', async () => {
    const [, ticketId, wo] = /✓ ticket (a1S\w+) → work order (\d+)/.exec(output)!;
    const workOrderId = Number(wo);
    expect(await record('Service_Ticket__c', ticketId!)).toMatchObject({
      Field_Nation_Work_Order_Id__c: wo,
      Field_Nation_Sync_Status__c: 'Synced',
      Field_Nation_Sync_Message__c: null,
      Send_to_Field_Nation__c: false,
      Status__c: 'In Progress',
    });
    expect(await control(`${fnUrl}/__sim/workorders/${workOrderId}`)).toMatchObject({
      title: 'ST-0002: Badge reader offline at the lobby',
      incident_id: ticketId,
    });

    // Salesforce → Field Nation: the dispatcher's post is one work-order message; the technician's
    // answer in its thread a comment on that post; the technician's new message a post of its own.
    type Post = { Id: string; Body: string; CreatedById: string };
    const posts = await query<Post>(`SELECT Id, Body, CreatedById FROM FeedItem WHERE ParentId = '${ticketId}' ORDER BY CreatedDate`);
    const dispatcherPost = posts.find((p) => p.Body === 'Please bring a spare reader, the old one may be fried.')!;
    expect(dispatcherPost).toBeDefined();
    type Listed = { msg_id: number | string; message: string; replies?: Listed[] };
    const messages = (await fieldNation<{ results: Listed[] }>(`/workorders/${workOrderId}/messages`)).results.flatMap((m) => [
      m,
      ...(m.replies ?? []),
    ]);
    expect(messages.filter((m) => m.message === 'Dana Dispatcher: Please bring a spare reader, the old one may be fried.')).toHaveLength(1);
    const comments = await query<{ CommentBody: string }>(`SELECT CommentBody FROM FeedComment WHERE FeedItemId = '${dispatcherPost.Id}'`);
    expect(comments.map((c) => c.CommentBody)).toEqual([expect.stringContaining('Will do, there is one in the van.')]);
    const integrationUser = String((await query<{ Id: string }>("SELECT Id FROM User WHERE Username = 'integration@example.com'"))[0]!.Id);
    expect(posts.filter((p) => p.Body.includes('Reader replaced and tested, photo attached.'))).toEqual([
      expect.objectContaining({ CreatedById: integrationUser }),
    ]);

    // The photo: a PNG in the ticket's Files, copied once; the dispatcher's file in the work order's folder.
    const photoSize = Number(/technician's photo \(attachment \d+, (\d+) bytes\)/.exec(output)![1]);
    const files = await query<{ PathOnClient: string; ContentSize: number }>(
      `SELECT PathOnClient, ContentSize FROM ContentVersion WHERE FirstPublishLocationId = '${ticketId}'`,
    );
    expect(files.filter((f) => f.PathOnClient === 'badge-reader.png')).toEqual([expect.objectContaining({ ContentSize: photoSize })]);
    type Folder = { name: string; results: { file: { name: string; size_bytes: number }; notes: string }[] };
    const folders = (await fieldNation<{ results: Folder[] }>(`/workorders/${workOrderId}/attachments`)).results;
    const copied = folders.filter((f) => f.name === 'Salesforce files').flatMap((f) => f.results);
    expect(copied).toEqual([expect.objectContaining({ file: expect.objectContaining({ name: 'site-plan.pdf' }) })]);
    expect(copied[0]!.notes).toMatch(/^Copied from Salesforce \(file 068\w+\)$/);
  });

  it('stops everything on Ctrl-C with exit code 0', async () => {
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output).toContain('✓ stopped');
  }, 60_000);
});
