import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '@broker/config';
import { TEST_PATH_TOKEN } from '@broker/testing';
import { FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import { loadEventRulesFile } from '@broker/mapping';
import { runPreflight } from '@broker/preflight';
import { createLogger } from '@broker/runtime';
import { startFieldNationSim, type FieldNationSim } from '../../fieldnation-sim/src/index';
import { startSalesforceSim, type SalesforceSim } from '../../salesforce-sim/src/index';
import { workspaceRoot } from '../../../vitest.shared';
import { basic, startDashboard, type DashboardUnderTest } from './dashboard-test-kit';

// The dashboard's "Test connection" runs the real preflight against both simulators over HTTP.
const mappings = path.join(workspaceRoot, 'config/mappings');
const PUBLIC_URL = 'http://127.0.0.1:3000';
const rules = loadEventRulesFile(path.join(mappings, 'case-events.yaml'));
const ruleEvents = FN_WEBHOOK_EVENTS.filter((e) => rules.listensTo(e));

let sf: SalesforceSim;
let fn: FieldNationSim;
let dash: DashboardUnderTest;

beforeAll(async () => {
  const logger = createLogger({ service: 'sim', level: 'silent' });
  sf = await startSalesforceSim({ port: 0, logger });
  fn = await startFieldNationSim({ port: 0, logger, rateLimit: false });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dashboard-preflight-'));
  const file = path.join(dir, 'broker.yaml');
  writeFileSync(
    file,
    readFileSync(path.join(workspaceRoot, 'config/demo.yaml'), 'utf8').replace(/(mapping|eventRules): mappings\//g, `$1: ${mappings}/`),
  );
  const config = loadConfig(file, { SF_LOGIN_URL: sf.url, FN_BASE_URL: fn.url, SF_OM_PATH_TOKEN: TEST_PATH_TOKEN });
  dash = await startDashboard({ preflight: { connectionIds: ['demo'], run: (id) => runPreflight(config, id, { publicUrl: PUBLIC_URL }) } });
});

afterAll(async () => {
  await dash?.close();
  await sf?.close();
  await fn?.close();
});

beforeEach(() => fn.reset());

const get = (p: string) => fetch(`${dash.url}${p}`, { headers: { authorization: basic() } });
const csrfOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const testConnection = async (connectionId: string, csrf?: string) => {
  const token = csrf ?? csrfOf(await (await get('/')).text());
  return fetch(`${dash.url}/actions/test-connection`, {
    method: 'POST',
    headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, connectionId }),
  });
};

describe('dashboard: Test connection', () => {
  it('offers the button per connection and renders the checklist the doctor computes', async () => {
    fn.registerWebhook({
      url: `${PUBLIC_URL}/fieldnation/webhooks/demo`,
      secret: '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f',
      events: [...ruleEvents],
    });
    const home = await (await get('/')).text();
    expect(home).toMatch(
      /<form class="inline" method="post" action="\/actions\/test-connection">.*name="connectionId" value="demo".*Test connection<\/button>/,
    );

    const res = await testConnection('demo');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const page = await res.text();
    for (const id of [
      'salesforce.login',
      'salesforce.organization',
      'salesforce.fields.Case',
      'salesforce.api-allowance',
      'fieldnation.types-of-work',
      'fieldnation.webhook',
    ]) {
      expect(page, id).toContain(`data-check="${id}" data-status="ok"`);
    }
    expect(page).toMatch(/Ready\./);
    expect(page).toMatch(/Spent \d+ Salesforce API calls/);
  });

  it('shows a failing check with its fix, escaping what the remote systems return', async () => {
    // A webhook for the connection's path on another host, its URL carrying markup.
    const hostile = 'http://127.0.0.1:3999/fieldnation/webhooks/demo?x=<script>alert(1)</script>';
    fn.registerWebhook({ url: hostile, secret: '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f', events: [...ruleEvents] });
    const page = await (await testConnection('demo')).text();
    expect(page).toContain('data-check="fieldnation.webhook" data-status="fail"');
    expect(page).toContain('broker fieldnation webhook --connection demo --url http://127.0.0.1:3000 --apply');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toContain('<script>');
    expect(page).toMatch(/1 check failed/);
  });

  it('refuses without the CSRF token and for a connection the config does not have', async () => {
    expect((await testConnection('demo', 'forged')).status).toBe(403);
    const unknown = await testConnection('nope');
    expect(unknown.status).toBe(404);
    expect(await unknown.text()).toContain('no connection &quot;nope&quot; in the config');
    const anonymous = await fetch(`${dash.url}/actions/test-connection`, {
      method: 'POST',
      body: new URLSearchParams({ connectionId: 'demo' }),
    });
    expect(anonymous.status).toBe(401);
  });
});
