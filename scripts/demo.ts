// npm run demo: the whole broker against both simulators, on fixed ports, with a few Cases that
// become work orders and a technician who works them, so that the Cases show what happens.
// Needs Redis (REDIS_URL, default 127.0.0.1:6379) and PostgreSQL (DEMO_DATABASE_URL, default a local
// `broker_demo` database, recreated and migrated here). Ctrl-C stops everything.
import { dropDatabase, prepareDatabase, startHarness, type Harness } from './lib/broker-harness';

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
  dashboard (no auth: demo mode!)        http://127.0.0.1:${ports.dashboard}   queues: /queues   timeline: /timeline?id=<Case id or work order id>
  Salesforce simulator                   ${h.sf.url}   (control API: /__sim/...)
  Field Nation simulator                 ${h.fn.url}   (control API: /__sim/...)

  ⚠  THE DASHBOARD RUNS WITHOUT AUTHENTICATION (DASHBOARD_INSECURE=true, for this local demo only).
     Anyone who can reach port ${ports.dashboard} can replay jobs and re-sync records. Never deploy it like this.
`);

// A few Cases marked "Send to Field Nation" by a dispatcher: the Flow sends the Outbound Message.
const dispatcher = { as: 'dispatcher@example.com' };
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
  h.sf.createRecord(
    'Case',
    { ...fields, Preferred_Service_Date__c: new Date(Date.now() + (i + 1) * 86_400_000).toISOString(), Send_to_Field_Nation__c: true },
    dispatcher,
  ),
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
  const c = await h.waitFor(
    `work order for ${caseId}`,
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

const failed = await h.waitFor('the failed sync status', () => {
  const r = h.sf.getRecord(broken)!;
  return r.Field_Nation_Sync_Status__c === 'Failed' && r;
});
say(`  ✗ Case ${broken}: Field Nation Sync Status = ${String(failed.Field_Nation_Sync_Status__c)}`);
say(`      Field Nation Sync Message = ${String(failed.Field_Nation_Sync_Message__c)}`);
say(`      (set Preferred_Service_Date__c on the Case and save it: the next sync clears the message)`);

// The return path: a technician takes the first work order through its lifecycle.
const [firstCase] = cases;
const woId = workOrders.get(firstCase!)!;
const provider = 557;
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
say(`
» look around:
  timeline of the Case   http://127.0.0.1:${ports.dashboard}/timeline?id=${firstCase}
  queues                 http://127.0.0.1:${ports.dashboard}/queues
  create more Cases      curl -X POST ${h.sf.url}/__sim/records/Case -H 'content-type: application/json' \\
                           -d '{"as":"dispatcher@example.com","fields":{"Subject":"New job","AccountId":"${h.sf.ref('acme')}","Preferred_Service_Date__c":"${new Date(Date.now() + 86_400_000).toISOString()}","Send_to_Field_Nation__c":true}}'
  Ctrl-C stops everything.`);
await new Promise(() => undefined);
