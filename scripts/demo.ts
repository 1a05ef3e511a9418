// npm run demo: the whole broker against both simulators, on fixed ports, with a few Cases that
// become work orders and a technician who works them, so that the Cases show what happens; one Case
// that fails on purpose; and a custom object (Service_Ticket__c, config/demo-extras.yaml) whose
// Chatter messages go both ways and whose technician's photo lands in its Salesforce Files.
// Needs Redis (REDIS_URL, default 127.0.0.1:6379) and PostgreSQL (DEMO_DATABASE_URL, default a local
// `broker_demo` database, recreated and migrated here). Ctrl-C stops everything.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { loadConfig } from '@broker/config';
import { FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import { loadEventRulesFile } from '@broker/mapping';
import { generateSalesforceMetadata } from '@broker/preflight';
import { root } from './lib/app-processes';
import { dropDatabase, prepareDatabase, startHarness, type Harness } from './lib/broker-harness';
import { gradientPng } from './lib/demo-photo';

const env = process.env;
const port = (name: string, fallback: number) => Number(env[name] ?? fallback);
const ports = {
  ingress: port('INGRESS_PORT', 3000),
  ingressOps: port('INGRESS_OPS_PORT', 9100),
  dashboard: port('DASHBOARD_PORT', 3100),
  salesforceSim: port('SF_SIM_PORT', 3200),
  fieldnationSim: port('FN_SIM_PORT', 3300),
};
// Its own database, recreated each run: the simulators start empty, so must the correlation store.
const databaseUrl = env.DEMO_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/broker_demo';
const say = (text: string) => process.stdout.write(`${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * config/demo-extras.yaml as harness options: its objects join the demo connection's objects, its other
 * keys the connection. Not in config/demo.yaml, which the tests, the benchmark and the chaos run start
 * from and whose API calls they count (a Chatter sweep or a file poll would add to them).
 */
function demoExtras(file: string) {
  const extras = parse(readFileSync(file, 'utf8')) as { objects?: Record<string, Record<string, unknown>> } & Record<string, unknown>;
  const inConfig = (v: unknown) => (typeof v === 'string' ? path.resolve(path.dirname(file), v) : v);
  const objects = Object.entries(extras.objects ?? {});
  // JSON is YAML: each entry goes in as one flow mapping, whatever its nesting.
  const extraObjects = objects
    .map(([name, o]) => `      ${name}: ${JSON.stringify({ ...o, mapping: inConfig(o.mapping), eventRules: inConfig(o.eventRules) })}`)
    .join('\n');
  const connectionExtra = Object.entries(extras)
    .filter(([key]) => key !== 'objects')
    .map(([key, value]) => `    ${key}: ${JSON.stringify(value)}\n`)
    .join('');
  // Webhook events the objects' own rules use, and provider uploads when files go to Salesforce.
  const events = new Set<string>();
  for (const [, o] of objects) {
    if (!o.eventRules) continue;
    const rules = loadEventRulesFile(String(inConfig(o.eventRules)));
    for (const e of FN_WEBHOOK_EVENTS) if (rules.listensTo(e)) events.add(e);
  }
  if ((extras.files as { toSalesforce?: boolean } | undefined)?.toSalesforce) events.add('workorder.provider_upload');
  return { extraObjects, connectionExtra, extraWebhookEvents: [...events] };
}

say('» preparing the database (prisma migrate deploy)…');
await dropDatabase(databaseUrl);
await prepareDatabase(databaseUrl);
say('» starting the Salesforce and Field Nation simulators and the broker apps…');
let h: Harness;
try {
  h = await startHarness({
    ports,
    databaseUrl,
    queuePrefix: env.QUEUE_PREFIX ?? 'broker-demo',
    apps: ['ingress', 'salesforce-fetcher', 'mapper', 'fieldnation-writer', 'salesforce-writer', 'dashboard'],
    env: { DASHBOARD_INSECURE: 'true' },
    scheduledReconciliation: true,
    ...demoExtras(path.join(root, 'config/demo-extras.yaml')),
  });
} catch (err) {
  say(`✗ could not start: ${(err as Error).message}`);
  process.exit(1);
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  say('\n» stopping…');
  await h.stop();
  say('✓ stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());

say(`
✓ running
  ingress (Outbound Messages, webhooks)  http://127.0.0.1:${ports.ingress}
    Outbound Message endpoint            ${h.outboundUrl}   (path token made for this run)
    metrics (ops port, not public)       ${h.ingressOpsUrl}/metrics
  dashboard (no auth: demo mode!)        http://127.0.0.1:${ports.dashboard}   queues: /queues   timeline: /timeline?id=<record id or work order id>
  Salesforce simulator                   ${h.sf.url}   (control API: /__sim/...)
  Field Nation simulator                 ${h.fn.url}   (control API: /__sim/...)

  ⚠  THE DASHBOARD RUNS WITHOUT AUTHENTICATION (DASHBOARD_INSECURE=true, for this local demo only).
     Anyone who can reach port ${ports.dashboard} can replay jobs and re-sync records. Never deploy it like this.
`);

/** A step of the demo that did not happen in time: said plainly, with where to look. */
class DemoStepFailed extends Error {}
async function step<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs = 30_000,
  hint = '',
): Promise<T> {
  try {
    return await h.waitFor(what, check, timeoutMs);
  } catch (err) {
    throw new DemoStepFailed(`${what}: not seen within ${timeoutMs / 1000} s${hint ? ` (${hint})` : ''}. ${(err as Error).message}`);
  }
}

const dispatcher = { as: 'dispatcher@example.com' };
const provider = 557;
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

async function casesScene(): Promise<string> {
  // A few Cases marked "Send to Field Nation" by a dispatcher: the Flow sends the Outbound Message.
  const cases = [
    {
      Subject: 'Install POS terminals at Acme HQ',
      AccountId: h.sf.ref('acme'),
      ContactId: h.sf.ref('wile'),
      Priority: 'High',
      Work_Type__c: 'Installation',
    },
    {
      Subject: 'Printer jams on floor 2',
      AccountId: h.sf.ref('globex'),
      ContactId: h.sf.ref('hank'),
      Priority: 'Medium',
      Work_Type__c: 'Repair',
    },
    {
      Subject: 'Quarterly maintenance',
      AccountId: h.sf.ref('initech'),
      ContactId: h.sf.ref('peter'),
      Priority: 'Low',
      Work_Type__c: 'Maintenance',
    },
  ].map((fields, i) =>
    h.sf.createRecord('Case', { ...fields, Preferred_Service_Date__c: inDays(i + 1), Send_to_Field_Nation__c: true }, dispatcher),
  );
  say(`» created ${cases.length} Cases in Salesforce with "Send to Field Nation" checked: ${cases.join(', ')}`);

  // One Case fails on purpose: no preferred service date, which the mapping requires. Its sync status
  // says so on the Case, with the reason.
  const broken = h.sf.createRecord(
    'Case',
    {
      Subject: 'Site survey, date to be agreed',
      AccountId: h.sf.ref('acme'),
      Priority: 'Low',
      Work_Type__c: 'Survey',
      Send_to_Field_Nation__c: true,
    },
    dispatcher,
  );
  say(`» created Case ${broken} without a preferred service date (the mapping requires one): it fails on purpose`);

  const workOrders = new Map<string, number>();
  for (const caseId of cases) {
    const c = await step(
      `the work order of Case ${caseId}`,
      async () => {
        const row = await h.store.getCorrelation({ connectionId: 'demo', sfId: caseId });
        return row?.state === 'synced' ? row : undefined;
      },
      60_000,
    );
    workOrders.set(caseId, c.workOrderId!);
    const wo = h.fn.getWorkOrder(c.workOrderId!)!;
    say(`  ✓ Case ${caseId} → work order ${c.workOrderId} "${String(wo.title)}" (${(wo.status as { name: string }).name})`);
  }

  const failed = await step(`the failed sync status on Case ${broken}`, () => {
    const r = h.sf.getRecord(broken)!;
    return r.Field_Nation_Sync_Status__c === 'Failed' && r;
  });
  say(`  ✗ Case ${broken}: Field Nation Sync Status = ${String(failed.Field_Nation_Sync_Status__c)}`);
  say(`      Field Nation Sync Message = ${String(failed.Field_Nation_Sync_Message__c)}`);
  say(`      (set Preferred_Service_Date__c on the Case and save it: the next sync clears the message)`);

  // The return path: a technician takes the first work order through its lifecycle.
  const [firstCase] = cases;
  const woId = workOrders.get(firstCase!)!;
  const show = async (label: string) => {
    await sleep(1_500);
    const r = h.sf.getRecord(firstCase!)!;
    say(
      `  • ${label.padEnd(34)} Case Status = ${String(r.Status).padEnd(20)} Field Nation status = ${String(r.Field_Nation_Status__c ?? '')}`,
    );
  };
  say(`\n» a technician works order ${woId}; watch Case ${firstCase}:`);
  h.fn.buyer.assign(woId, provider);
  await show('assigned to technician 557');
  h.fn.technician.checkIn(woId, { providerId: provider });
  await show('technician checked in');
  h.fn.technician.postMessage(woId, 'On site now, the terminals are here.', { providerId: provider });
  await show('technician posted a message');
  h.sf.createRecord(
    'CaseComment',
    { ParentId: firstCase, CommentBody: 'Thanks! Please test the card reader too.', IsPublished: true },
    dispatcher,
  );
  await show('dispatcher replied on the Case');
  h.fn.technician.checkOut(woId, { providerId: provider });
  h.fn.technician.complete(woId, { providerId: provider, closeoutNotes: 'Installed 4 terminals, card readers tested.' });
  await show('work done');
  h.fn.buyer.approve(woId);
  await show('approved');

  const comments = h.sf.query(`SELECT CommentBody FROM CaseComment WHERE ParentId = '${firstCase}' ORDER BY CreatedDate`).records as {
    CommentBody: string;
  }[];
  say(`\n  CaseComments on ${firstCase}:`);
  for (const c of comments) say(`    - ${c.CommentBody.split('\n')[0]}`);
  return firstCase!;
}

let fnToken: string | undefined;
/** The work order's messages, replies included, as Field Nation's REST API lists them to the buyer. */
async function workOrderMessages(workOrderId: number): Promise<{ msg_id: string | number; message: string; parent_id?: unknown }[]> {
  fnToken ??= await fetch(h.fn.tokenUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({
      grant_type: 'password',
      client_id: h.fn.credentials.clientId,
      client_secret: h.fn.credentials.clientSecret,
      username: h.fn.credentials.username,
      password: h.fn.credentials.password,
    }),
  }).then(async (r) => ((await r.json()) as { access_token: string }).access_token);
  const res = await fetch(`${h.fn.restUrl}/workorders/${workOrderId}/messages?access_token=${fnToken}`);
  type Listed = { msg_id: string | number; message: string; parent_id?: unknown; replies?: Listed[] };
  const { results } = (await res.json()) as { results: Listed[] };
  return results.flatMap((m) => [m, ...(m.replies ?? [])]);
}

interface TicketScene {
  ticketId: string;
  workOrderId: number;
}

async function ticketScene(): Promise<TicketScene> {
  // The ticket's record-triggered Flow and Outbound Message, as `broker salesforce metadata` writes them
  // for this connection (the simulated org ships the Case's only).
  const connection = loadConfig(h.configFile, h.env).connections[0]!;
  const { files } = generateSalesforceMetadata({ connection, endpoint: h.ingressUrl, integrationUserId: h.sf.ref('integration') });
  h.sf.deployMetadata(files.filter((f) => f.path.includes('Service_Ticket')));

  const ticketId = h.sf.createRecord(
    'Service_Ticket__c',
    {
      Name: 'ST-0002',
      Subject__c: 'Badge reader offline at the lobby',
      Description__c: 'The reader shows a red light and rejects every badge.',
      Account__c: h.sf.ref('acme'),
      Contact__c: h.sf.ref('wile'),
      Preferred_Date__c: inDays(1),
      Send_to_Field_Nation__c: true,
    },
    dispatcher,
  );
  say(`\n» a custom object: Service_Ticket__c ${ticketId} (ST-0002) created with "Send to Field Nation" checked`);
  const synced = await step(
    'the ticket synced (Field Nation Sync Status = Synced)',
    () => {
      const r = h.sf.getRecord(ticketId)!;
      return r.Field_Nation_Sync_Status__c === 'Synced' && r.Field_Nation_Work_Order_Id__c ? r : undefined;
    },
    60_000,
  );
  const workOrderId = Number(synced.Field_Nation_Work_Order_Id__c);
  const wo = h.fn.getWorkOrder(workOrderId)!;
  say(`  ✓ ticket ${ticketId} → work order ${workOrderId} "${String(wo.title)}" (${(wo.status as { name: string }).name})`);
  say(
    `      on the ticket: Field Nation Work Order Id = ${workOrderId}, Sync Status = Synced, Last Sync = ${String(synced.Field_Nation_Last_Sync__c)}, Send to Field Nation = ${String(synced.Send_to_Field_Nation__c)}`,
  );

  h.fn.buyer.assign(workOrderId, provider);
  h.fn.technician.checkIn(workOrderId, { providerId: provider });
  const onSite = await step('the ticket In Progress (its own event rules)', () => {
    const r = h.sf.getRecord(ticketId)!;
    return r.Status__c === 'In Progress' && r;
  });
  say(
    `  • technician assigned and checked in: ticket Status = ${String(onSite.Status__c)}, Technician = ${String(onSite.Technician_Name__c)}`,
  );

  // Chatter → Field Nation: Salesforce announces no post, the fetcher's sweep (every 5 s here) finds it.
  const postText = 'Please bring a spare reader, the old one may be fried.';
  const postId = h.sf.createRecord('FeedItem', { ParentId: ticketId, Body: postText }, dispatcher);
  const link = await step(
    'the dispatcher’s Chatter post as a work-order message',
    async () => {
      const l = await h.store.findMessageLinkByComment('demo', postId);
      return l?.fnMessageId ? l : undefined;
    },
    30_000,
    'the Chatter sweep runs every 5 s',
  );
  const sent = (await workOrderMessages(workOrderId)).find((m) => String(m.msg_id) === link.fnMessageId);
  say(`  ✓ dispatcher's Chatter post ${postId} → work-order message ${link.fnMessageId}: "${sent?.message ?? postText}"`);

  // Field Nation → Chatter: the technician's answer in that thread is a comment on the post.
  const replyText = 'Will do, there is one in the van.';
  h.fn.technician.postMessage(workOrderId, replyText, { providerId: provider, parentId: link.fnMessageId! });
  const reply = await step('the technician’s reply as a comment on the Chatter post', () => {
    const rows = h.sf.query(`SELECT Id, CommentBody FROM FeedComment WHERE FeedItemId = '${postId}'`).records as {
      Id: string;
      CommentBody: string;
    }[];
    return rows.find((c) => c.CommentBody.includes(replyText));
  });
  say(`  ✓ technician's reply on Field Nation → Chatter comment ${reply.Id} on post ${postId}: "${reply.CommentBody}"`);

  // A new message from the technician is a new post on the ticket.
  const newText = 'Reader replaced and tested, photo attached.';
  h.fn.technician.postMessage(workOrderId, newText, { providerId: provider });
  const post = await step('the technician’s message as a Chatter post on the ticket', () => {
    const rows = h.sf.query(`SELECT Id, Body FROM FeedItem WHERE ParentId = '${ticketId}'`).records as { Id: string; Body: string }[];
    return rows.find((p) => p.Body.includes(newText));
  });
  say(`  ✓ technician's message on Field Nation → Chatter post ${post.Id}: "${post.Body.split('\n')[0]}"`);

  // The technician's photo → the ticket's Salesforce Files (one ContentVersion insert, streamed).
  const photo = gradientPng();
  const attachmentId = h.fn.technician.upload(
    workOrderId,
    { name: 'badge-reader.png', mime: 'image/png', content: photo },
    { providerId: provider },
  );
  const file = await step('the technician’s photo in the ticket’s Files', () =>
    h.sf.filesOf(ticketId).find((f) => f.pathOnClient === 'badge-reader.png'),
  );
  say(
    `  ✓ technician's photo (attachment ${attachmentId}, ${photo.length} bytes) → Salesforce File ${file.contentVersionId} "${file.title}" on the ticket (${file.size} bytes)`,
  );

  // And the other way: a file the dispatcher adds to the ticket reaches the work order's folder.
  const plan = h.sf.attachFile(ticketId, { name: 'site-plan.pdf', content: '%PDF-1.4\n% lobby site plan (demo)\n' }, dispatcher);
  const upload = await step(
    'the dispatcher’s file on the work order',
    () => h.fn.attachmentsOf(workOrderId).find((a) => a.name === 'site-plan.pdf'),
    30_000,
    'the file poll runs every 5 s',
  );
  say(`  ✓ dispatcher's file ${plan.contentVersionId} "site-plan.pdf" → work order ${workOrderId}, folder "${upload.folder}"`);
  return { ticketId, workOrderId };
}

// A shell command for a query through the simulator's control API (quotes closed and reopened for the shell).
const soql = (q: string) =>
  `curl -s ${h.sf.url}/__sim/query -H 'content-type: application/json' -d '{"soql":"${q.replace(/'/g, `'\\''`)}"}'`;
let firstCase: string | undefined;
let ticket: TicketScene | undefined;
try {
  firstCase = await casesScene();
  ticket = await ticketScene();
} catch (err) {
  if (!(err instanceof DemoStepFailed)) throw err;
  say(`\n✗ the demo could not finish: ${err.message}`);
  say(`  the broker is still running: look at the timeline and the queues below, and at the apps' output above`);
}
say(`
» look around:${
  firstCase
    ? `
  timeline of the Case   http://127.0.0.1:${ports.dashboard}/timeline?id=${firstCase}`
    : ''
}${
  ticket
    ? `
  timeline of the ticket http://127.0.0.1:${ports.dashboard}/timeline?id=${ticket.ticketId}
  the ticket             curl -s ${h.sf.url}/__sim/records/Service_Ticket__c/${ticket.ticketId}
  its Chatter posts      ${soql(`SELECT Id, Body, CreatedBy.Name FROM FeedItem WHERE ParentId = '${ticket.ticketId}'`)}
  its Files              ${soql(`SELECT Id, Title, ContentSize, Description FROM ContentVersion WHERE FirstPublishLocationId = '${ticket.ticketId}'`)}
  its work order         curl -s ${h.fn.url}/__sim/workorders/${ticket.workOrderId}
  cancel it              curl -X PATCH ${h.sf.url}/__sim/records/Service_Ticket__c/${ticket.ticketId} -H 'content-type: application/json' \\
                           -d '{"as":"dispatcher@example.com","fields":{"Cancel_Work_Order__c":true}}'`
    : ''
}
  queues                 http://127.0.0.1:${ports.dashboard}/queues
  create more Cases      curl -X POST ${h.sf.url}/__sim/records/Case -H 'content-type: application/json' \\
                           -d '{"as":"dispatcher@example.com","fields":{"Subject":"New job","AccountId":"${h.sf.ref('acme')}","Preferred_Service_Date__c":"${inDays(1)}","Send_to_Field_Nation__c":true}}'
  Ctrl-C stops everything.`);
await new Promise(() => undefined);
