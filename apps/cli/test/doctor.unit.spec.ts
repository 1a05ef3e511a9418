import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import type { LoadedConfig } from '@broker/config';
import { FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import { loadEventRulesFile } from '@broker/mapping';
import { createLogger } from '@broker/runtime';
import { DEMO_MAPPINGS, DEMO_PUBLIC_URL, demoWebhook, loadDemoConfig, serversForFile, TEST_PATH_TOKEN } from '@broker/testing';
import { startFieldNationSim } from '../../fieldnation-sim/src/index';
import { startSalesforceSim } from '../../salesforce-sim/src/index';
import { workspaceRoot } from '../../../vitest.shared';
import { doctorCommand } from '../src/doctor.command';
import { captureIo, tmpDir } from './cli-test-kit';

// Referee: the demo connection (loadDemoConfig) is known to work end to end against both simulators
// (apps/broker-e2e); each broken variant below is one mistake.
const PUBLIC_URL = DEMO_PUBLIC_URL;
const rules = loadEventRulesFile(path.join(DEMO_MAPPINGS, 'case-events.yaml'));
const ruleEvents = FN_WEBHOOK_EVENTS.filter((e) => rules.listensTo(e));

const logger = createLogger({ service: 'sim', level: 'silent' });
const sims = serversForFile({
  sf: () => startSalesforceSim({ port: 0, logger }),
  fn: () => startFieldNationSim({ port: 0, logger, rateLimit: false }),
});

const registerWebhook = (events = ruleEvents, url?: string) => sims.fn.registerWebhook(demoWebhook(events, url));

beforeEach(() => {
  sims.fn.reset();
  registerWebhook();
});

/** The demo config against these simulators (see loadDemoConfig for the options). */
const demoConfig = (options: Parameters<typeof loadDemoConfig>[1] = {}): LoadedConfig =>
  loadDemoConfig({ salesforceUrl: sims.sf.url, fieldnationUrl: sims.fn.url }, options);

async function doctor(config: LoadedConfig, options: { url?: string } = { url: PUBLIC_URL }) {
  const io = captureIo();
  const code = await doctorCommand(config, { connection: 'demo', url: options.url }, io);
  return { code, text: io.stdout.join('\n') };
}

/** The checklist line of a check, by id. */
const line = (text: string, id: string) => text.split('\n').find((l) => l.includes(`[${id}]`)) ?? '';

describe('broker doctor', () => {
  it('passes against the demo connection, read-only, and counts the Salesforce API calls it spends', async () => {
    const before = sims.sf.counters();
    const workOrdersBefore = sims.fn.listWorkOrders().length;
    const { code, text } = await doctor(demoConfig());
    expect(text).toMatch(/✓ ready/);
    expect(code).toBe(0);
    for (const id of [
      'config.mappings',
      'salesforce.login',
      'salesforce.organization',
      'salesforce.api',
      'salesforce.fields.Case',
      'salesforce.write-back.Case',
      'salesforce.comments',
      'salesforce.api-allowance',
      'fieldnation.token',
      'fieldnation.types-of-work',
      'fieldnation.custom-fields',
      'fieldnation.webhook',
    ]) {
      expect(line(text, id), id).toMatch(/^\s+✓/);
    }
    const after = sims.sf.counters();
    const spent = Number(/spent (\d+) Salesforce API calls/.exec(text)?.[1]);
    expect(spent).toBeGreaterThan(0);
    // The simulator counts what the org was asked: the doctor's own count must agree.
    expect(after.apiCalls.total - before.apiCalls.total).toBe(spent);
    const writes = Object.keys(after.apiCalls.byEndpoint).filter(
      (k) => !k.startsWith('GET') && (after.apiCalls.byEndpoint[k] ?? 0) !== (before.apiCalls.byEndpoint[k] ?? 0),
    );
    expect(writes).toEqual([]);
    expect(sims.fn.listWorkOrders()).toHaveLength(workOrdersBefore);
    expect(Object.keys(sims.fn.counters().routes ?? {}).filter((r) => !/^GET|oauth/.test(r))).toEqual([]);
  });

  it('fails salesforce.login on a wrong password, with a fix hint, and still checks Field Nation', async () => {
    const { code, text } = await doctor(demoConfig({ env: { SF_PASSWORD: 'not-the-password' } }));
    expect(code).toBe(1);
    expect(line(text, 'salesforce.login')).toMatch(/^\s+✗/);
    expect(text).toMatch(/INVALID_LOGIN/);
    expect(text).toMatch(/fix: check salesforce\.auth\.username, password and securityToken/);
    expect(text).not.toContain('not-the-password');
    expect(line(text, 'fieldnation.webhook')).toMatch(/^\s+✓/);
    expect(line(text, 'salesforce.fields.Case')).toBe(''); // needs a session: not run
    expect(text).toMatch(/✗ 1 check failed/);
  });

  /** The demo config with a Service_Ticket__c beside the Case: its own mapping and rules, messages through Chatter. */
  const withTicket = (options: { rules?: (t: string) => string; ticket?: string } = {}) => {
    let rules = path.join(DEMO_MAPPINGS, 'ticket-events.yaml');
    if (options.rules) {
      rules = path.join(tmpDir('doctor-ticket'), 'ticket-events.yaml');
      writeFileSync(rules, options.rules(readFileSync(path.join(DEMO_MAPPINGS, 'ticket-events.yaml'), 'utf8')));
    }
    const entry = `      Service_Ticket__c: { mapping: ${path.join(DEMO_MAPPINGS, 'ticket-to-work-order.yaml')}, eventRules: ${rules}, messageChannel: chatter${options.ticket ?? ''} }\n`;
    return demoConfig({ editConfig: (t) => t.replace(/\n    objects:\n/, (m) => `${m}${entry}`) });
  };

  it("checks a custom object's own event rules against its describe, and its Chatter feed and text fields", async () => {
    const good = await doctor(withTicket());
    expect(good.code).toBe(0);
    for (const id of [
      'salesforce.fields.Service_Ticket__c',
      'salesforce.write-back.Service_Ticket__c',
      'salesforce.chatter.Service_Ticket__c',
      'salesforce.chatter.FeedItem',
      'salesforce.chatter.FeedComment',
    ]) {
      expect(line(good.text, id), id).toMatch(/^\s+✓/);
    }
    // A rule writing a field the ticket does not have (it is a Case field): the ticket's check fails, naming it.
    const bad = await doctor(withTicket({ rules: (t) => t.replace('Status__c: { value: Scheduled }', 'Status: { value: Scheduled }') }));
    expect(bad.code).toBe(1);
    expect(line(bad.text, 'salesforce.write-back.Service_Ticket__c')).toMatch(/^\s+✗/);
    expect(bad.text).toContain('Status: no such field');
    expect(line(bad.text, 'salesforce.write-back.Case')).toMatch(/^\s+✓/);
  });

  it('fails salesforce.chatter.FeedItem for a body field FeedItem does not have', async () => {
    const { code, text } = await doctor(withTicket({ ticket: ', chatter: { bodyField: Message__c }' }));
    expect(code).toBe(1);
    expect(line(text, 'salesforce.chatter.FeedItem')).toMatch(/^\s+✗/);
    expect(text).toContain('Message__c: no such field');
  });

  it('fails salesforce.fields.<Object> for a mapped field that does not exist, naming the path', async () => {
    const config = demoConfig({
      editMapping: (t) => t.replace('location.zip: Account.BillingPostalCode', 'location.zip: Account.BillingPostCode'),
    });
    const { code, text } = await doctor(config);
    expect(code).toBe(1);
    expect(line(text, 'salesforce.fields.Case')).toMatch(/^\s+✗/);
    expect(text).toContain('Account.BillingPostCode: no field BillingPostCode on Account');
    expect(text.split('\n').filter((l) => /^\s+✗ .*\[/.test(l))).toHaveLength(1);
  });

  it('fails on a relationship that does not exist along the path', async () => {
    const config = demoConfig({ editMapping: (t) => t.replace('name: Account.Owner.Manager.Name', 'name: Account.Owner.Boss.Name') });
    const { code, text } = await doctor(config);
    expect(code).toBe(1);
    expect(text).toContain('Account.Owner.Boss.Name: no relationship Boss on User');
  });

  it('fails fieldnation.types-of-work for an unknown type-of-work id, naming the id and where it is used', async () => {
    const config = demoConfig({ editMapping: (t) => t.replace('Installation: 62,', 'Installation: 9062,') });
    const { code, text } = await doctor(config);
    expect(code).toBe(1);
    expect(line(text, 'fieldnation.types-of-work')).toMatch(/^\s+✗/);
    expect(text).toMatch(/unknown type of work id: 9062 \([^)]*types_of_work\)/);
    expect(line(text, 'fieldnation.custom-fields')).toMatch(/^\s+✓/);
  });

  it('fails fieldnation.custom-fields for an unknown custom field id', async () => {
    const config = demoConfig({ editMapping: (t) => t.replace('"607": { from: CaseNumber', '"6070": { from: CaseNumber') });
    const { code, text } = await doctor(config);
    expect(code).toBe(1);
    expect(line(text, 'fieldnation.custom-fields')).toMatch(/^\s+✗/);
    expect(text).toMatch(/unknown custom field id: 6070/);
  });

  it('fails fieldnation.webhook when no webhook is registered, and tells the command that registers it', async () => {
    sims.fn.reset();
    const { code, text } = await doctor(demoConfig());
    expect(code).toBe(1);
    expect(line(text, 'fieldnation.webhook')).toMatch(/^\s+✗/);
    expect(text).toContain(`no webhook delivers to ${PUBLIC_URL}/fieldnation/webhooks/demo`);
    expect(text).toContain(`fix: register it: broker fieldnation webhook --connection demo --url ${PUBLIC_URL} --apply`);
  });

  it('fails fieldnation.webhook for a webhook with an extra event, and for one missing an event', async () => {
    sims.fn.reset();
    registerWebhook([...ruleEvents, 'workorder.created']);
    const extra = await doctor(demoConfig());
    expect(extra.code).toBe(1);
    expect(line(extra.text, 'fieldnation.webhook')).toMatch(/^\s+✗/);
    expect(extra.text).toMatch(/extra events no rule uses \(delivered, verified and skipped for nothing\): workorder\.created/);

    sims.fn.reset();
    registerWebhook(ruleEvents.filter((e) => e !== 'workorder.message_posted'));
    const missing = await doctor(demoConfig());
    expect(missing.code).toBe(1);
    expect(missing.text).toMatch(/missing events the rules use: workorder\.message_posted/);
  });

  it('fails fieldnation.webhook when the webhook points at another host than the public URL', async () => {
    const { code, text } = await doctor(demoConfig(), { url: 'https://broker.example.com' });
    expect(code).toBe(1);
    expect(text).toContain(`one points at ${PUBLIC_URL}/fieldnation/webhooks/demo instead`);
  });

  it('warns (exit 0) when no public URL is given: the events are checked, the host is not', async () => {
    const { code, text } = await doctor(demoConfig(), {});
    expect(code).toBe(0);
    expect(line(text, 'fieldnation.webhook')).toMatch(/^\s+!/);
    expect(text).toMatch(/✓ ready \(1 warning\)/);
  });

  it('fails salesforce.organization when the config names another org', async () => {
    const { code, text } = await doctor(demoConfig({ env: { SF_ORG_ID: '00D000000000002EAA' } }));
    expect(code).toBe(1);
    expect(line(text, 'salesforce.organization')).toMatch(/^\s+✗/);
    expect(text).toContain('the credentials log into organization 00D000000000001EAA, the config names 00D000000000002EAA');
  });

  it('fails fieldnation.token on wrong Field Nation credentials', async () => {
    const { code, text } = await doctor(demoConfig({ env: { FN_PASSWORD: 'wrong-password' } }));
    expect(code).toBe(1);
    expect(line(text, 'fieldnation.token')).toMatch(/^\s+✗/);
    expect(line(text, 'salesforce.login')).toMatch(/^\s+✓/);
  });

  it('warns on salesforce.api-allowance in the reserve and fails it when nothing is left', async () => {
    try {
      sims.sf.setApiUsage({ used: 14_000, max: 15_000 });
      const low = await doctor(demoConfig());
      expect(line(low.text, 'salesforce.api-allowance')).toMatch(/^\s+!/);
      expect(low.code).toBe(0);
      sims.sf.setApiUsage({ used: 15_000, max: 15_000 });
      const none = await doctor(demoConfig());
      expect(none.code).toBe(1);
      expect(none.text).toMatch(/✗ .*\[salesforce\.api\]|✗ .*\[salesforce\.api-allowance\]/);
    } finally {
      sims.sf.setApiUsage({ used: 0, max: 15_000 });
    }
  });

  it('exits 0 as a command against the demo connection, 1 when a check fails (BROKER_CONFIG, PUBLIC_URL)', async () => {
    const config = demoConfig();
    const tsx = path.join(workspaceRoot, 'node_modules/.bin/tsx');
    // Asynchronous: the simulators answer from this process.
    const run = (env: Record<string, string>) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(
          tsx,
          ['apps/cli/src/main.ts', 'doctor'],
          {
            cwd: workspaceRoot,
            env: {
              PATH: process.env.PATH,
              BROKER_CONFIG: config.file,
              SF_OM_PATH_TOKEN: TEST_PATH_TOKEN,
              SF_LOGIN_URL: sims.sf.url,
              FN_BASE_URL: sims.fn.url,
              PUBLIC_URL,
              ...env,
            },
          },
          (err, stdout) => resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout }),
        );
      });
    const [good, bad] = await Promise.all([run({}), run({ SF_PASSWORD: 'not-the-password' })]);
    expect(good.stdout).toMatch(/✓ ready/);
    expect(good.code).toBe(0);
    expect(bad.code).toBe(1);
    expect(line(bad.stdout, 'salesforce.login')).toMatch(/^\s+✗/);
  }, 60_000);

  it("logs in with the client-credentials flow too, and names its failure with that flow's fix", async () => {
    const auth = (secret: string) => (t: string) =>
      t.replace(
        /      auth:\n        flow: password\n(        .*\n){3}/,
        `      auth: { flow: client-credentials, clientId: sim-client-id, clientSecret: ${secret} }\n`,
      );
    const good = await doctor(demoConfig({ editConfig: auth('sim-client-secret') }));
    expect(line(good.text, 'salesforce.login')).toMatch(/^\s+✓ Salesforce login \(client-credentials flow\)/);
    expect(line(good.text, 'salesforce.organization')).toMatch(/^\s+✓/);
    expect(good.code).toBe(0);
    const bad = await doctor(demoConfig({ editConfig: auth('wrong-secret') }));
    expect(bad.code).toBe(1);
    expect(line(bad.text, 'salesforce.login')).toMatch(/^\s+✗/);
    expect(bad.text).toMatch(/fix: enable 'Client Credentials Flow' on the connected app/);
  });

  it('fails fieldnation.webhook (instead of crashing) when the event rules match no Field Nation event', async () => {
    const rulesFile = path.join(tmpDir('doctor'), 'no-events.yaml');
    writeFileSync(rulesFile, 'object: Case\nrules:\n  - on: workorder.not_an_event\n    fields: { Status: { value: New } }\n');
    const { code, text } = await doctor(demoConfig({ editConfig: (t) => t.replace(/eventRules: .*/, `eventRules: ${rulesFile}`) }));
    expect(code).toBe(1);
    expect(line(text, 'fieldnation.webhook')).toMatch(/^\s+✗/);
    expect(text).toContain('match no Field Nation event (workorder.not_an_event)');
  });
});
