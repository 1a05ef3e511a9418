import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEMO_MAPPINGS, DEMO_PUBLIC_URL, demoWebhook, loadDemoConfig, serversForFile } from '@broker/testing';
import { FN_WEBHOOK_EVENTS } from '@broker/fieldnation';
import { loadEventRulesFile } from '@broker/mapping';
import { runPreflight } from '@broker/preflight';
import { createLogger } from '@broker/runtime';
import { startFieldNationSim } from '../../fieldnation-sim/src/index';
import { startSalesforceSim } from '../../salesforce-sim/src/index';
import { basic, startDashboard } from './dashboard-test-kit';

// The dashboard's "Test connection" runs the real preflight against both simulators over HTTP.
const rules = loadEventRulesFile(path.join(DEMO_MAPPINGS, 'case-events.yaml'));
const ruleEvents = FN_WEBHOOK_EVENTS.filter((e) => rules.listensTo(e));

const logger = createLogger({ service: 'sim', level: 'silent' });
const servers = serversForFile({
  sf: () => startSalesforceSim({ port: 0, logger }),
  fn: () => startFieldNationSim({ port: 0, logger, rateLimit: false }),
  dash: () => {
    const config = loadDemoConfig({ salesforceUrl: servers.sf.url, fieldnationUrl: servers.fn.url });
    return startDashboard({
      preflight: { connectionIds: ['demo'], run: (id) => runPreflight(config, id, { publicUrl: DEMO_PUBLIC_URL }) },
    });
  },
});

beforeEach(() => servers.fn.reset());

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
});
