import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEMO_MAPPINGS, DEMO_PUBLIC_URL, demoWebhook, loadDemoConfig, serversForFile, TEST_PATH_TOKEN } from '@broker/testing';
import { FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import { loadEventRulesFile } from '@broker/mapping';
import { createLogger } from '@broker/runtime';
import { startFieldNationSim } from '../../fieldnation-sim/src/index';
import { startSalesforceSim } from '../../salesforce-sim/src/index';
import { activePreflight } from '../src/active-preflight';
import { basic, startDashboard, type DashboardUnderTest } from './dashboard-test-kit';

// The dashboard's "Test connection" runs the real preflight against both simulators over HTTP.
const rules = loadEventRulesFile(path.join(DEMO_MAPPINGS, 'case-events.yaml'));
const ruleEvents = FN_WEBHOOK_EVENTS.filter((e) => rules.listensTo(e));

const logger = createLogger({ service: 'sim', level: 'silent' });
const servers = serversForFile({
  sf: () => startSalesforceSim({ port: 0, logger }),
  fn: () => startFieldNationSim({ port: 0, logger, rateLimit: false }),
  dash: async (): Promise<DashboardUnderTest> => {
    // config/demo.yaml against the simulators, as a file the dashboard reads whenever it is used.
    configFile = loadDemoConfig({ salesforceUrl: servers.sf.url, fieldnationUrl: servers.fn.url }).file;
    demoText = readFileSync(configFile, 'utf8');
    const env: NodeJS.ProcessEnv = {
      BROKER_CONFIG: configFile,
      SF_LOGIN_URL: servers.sf.url,
      FN_BASE_URL: servers.fn.url,
      SF_OM_PATH_TOKEN: TEST_PATH_TOKEN,
    };
    return startDashboard({ preflight: activePreflight({ env, publicUrl: DEMO_PUBLIC_URL, logger }) });
  },
});
let configFile: string;
let demoText: string;

beforeEach(() => {
  writeFileSync(configFile, demoText);
  servers.fn.reset();
});

const get = (p: string) => fetch(`${servers.dash.url}${p}`, { headers: { authorization: basic() } });
const csrfOf = (page: string) => /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
const testConnection = async (connectionId: string, csrf?: string) => {
  const token = csrf ?? csrfOf(await (await get('/')).text());
  return fetch(`${servers.dash.url}/actions/test-connection`, {
    method: 'POST',
    headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: token, connectionId }),
  });
};

describe('dashboard: Test connection', () => {
  it('offers the button per connection and renders the checklist the doctor computes', async () => {
    servers.fn.registerWebhook(demoWebhook(ruleEvents));
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
    servers.fn.registerWebhook(demoWebhook(ruleEvents, hostile));
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
    const anonymous = await fetch(`${servers.dash.url}/actions/test-connection`, {
      method: 'POST',
      body: new URLSearchParams({ connectionId: 'demo' }),
    });
    expect(anonymous.status).toBe(401);
  });
  it('tests the configuration in force when clicked: an edit since start is what it checks, no restart', async () => {
    servers.fn.registerWebhook(demoWebhook(ruleEvents));
    expect(await (await testConnection('demo')).text()).toContain('data-check="salesforce.login" data-status="ok"');
    // The operator changes the integration user's password in the file; the dashboard was not restarted.
    writeFileSync(configFile, demoText.replace('${SF_PASSWORD:-sim-password}', 'not-the-password'));
    const page = await (await testConnection('demo')).text();
    expect(page).toContain('data-check="salesforce.login" data-status="fail"');
  });

  it('shows why a configuration does not load instead of its buttons, and refuses the test with the reason', async () => {
    const csrf = csrfOf(await (await get('/')).text());
    writeFileSync(configFile, demoText.replace(/organizationId: .*/, 'organizationId: not-an-org-id'));
    const home = await (await get('/')).text();
    expect(home).toMatch(/id="config-error">The configuration does not load, so its connections cannot be tested: .*organizationId/s);
    expect(home).not.toContain('action="/actions/test-connection"');
    const res = await testConnection('demo', csrf);
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/the configuration does not load: .*organizationId/s);
  });
});
