// Issue 16, part 3, in a real browser over the real broker: every app a process with the configuration
// in PostgreSQL (BROKER_CONFIG_SOURCE=database), both simulators. An admin discovers the fields of the
// custom object Service_Ticket__c, builds its mapping from them (an invalid target is refused with the
// field highlighted), previews it against a live record (one Salesforce API call, no write), saves it,
// deploys the generated metadata, and the next Outbound Message makes a work order with it, no app
// restarted; a second version changes the title, a rollback brings the first back. The mapping names a
// type of work and a custom field picked from Field Nation's catalogues (the lookups beside the rows),
// resolved to ids when the apps load it. The screenshots in docs/images/setup-*.png are taken here, so
// they show the pages as they are: UPDATE_DOCS_IMAGES=1 writes them there, otherwise they go to
// tmp/screenshots (each run's pixels differ a little, and a test run should not change the docs).
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, WORKER_APPS, type Harness } from '../../../scripts/lib/broker-harness';
import { workspaceRoot } from '../../../vitest.shared';
import { FieldNationClient } from '@broker/fieldnation';
import { customFieldValues } from '@broker/mapping';
import { DEFAULT_CREDENTIALS } from '../../fieldnation-sim/src/index';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const USER = 'admin';
const PASSWORD = 'setup pages are behind this';
const IMAGES = path.join(workspaceRoot, process.env.UPDATE_DOCS_IMAGES === '1' ? 'docs/images' : 'tmp/screenshots');
const OBJECT = 'Service_Ticket__c';

const hasChromium = existsSync(CHROMIUM);
const inCi = !!process.env.CI && !['false', '0'].includes(process.env.CI);
it.runIf(inCi && !hasChromium)('has Chromium (required when CI is set)', () => {
  expect.fail(`${CHROMIUM} not found: the setup pages' browser acceptance test cannot run (apt-get install -y chromium)`);
});

describe.skipIf(!hasChromium)('setup pages in headless Chromium over the running broker (configuration in the database)', () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let pids: Map<string, number | undefined>;
  let seq = 0;

  const shot = async (name: string) => {
    mkdirSync(IMAGES, { recursive: true });
    await page.screenshot({ path: path.join(IMAGES, `setup-${name}.png`), fullPage: true });
  };
  const newTicket = (send: boolean, subject = 'Replace the badge reader') =>
    h.sf.createRecord(
      OBJECT,
      {
        Name: `ST-SETUP-${++seq}`,
        Subject__c: subject,
        Description__c: 'Lobby door, north entrance',
        Status__c: 'Scheduled',
        Account__c: h.sf.ref('acme'),
        Contact__c: h.sf.ref('wile'),
        Send_to_Field_Nation__c: send,
      },
      { as: 'dispatcher@example.com' },
    );
  const workOrderTitle = async (sfId: string) => {
    const c = await h.waitForSynced(sfId, 60_000);
    return String(h.fn.getWorkOrder(c.workOrderId!)!.title);
  };
  const row = (i: number, part: string) => page.locator(`[name="rows[${i}][${part}]"]`);
  const mappingUrl = () => `${base}/setup/connections/demo/objects/${OBJECT}/mapping`;

  beforeAll(async () => {
    h = await startHarness({
      configSource: 'database',
      apps: ['ingress', ...WORKER_APPS, 'dashboard'],
      env: { DASHBOARD_INSECURE: 'false', DASHBOARD_USER: USER, DASHBOARD_PASSWORD: PASSWORD, BROKER_CONFIG_CHECK_SECONDS: '2' },
    });
    base = `http://127.0.0.1:${h.apps.get('dashboard')!.port}`;
    pids = new Map([...h.apps].map(([name, a]) => [name, a.child.pid]));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
    });
    context = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD }, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await h?.stop();
  }, 60_000);

  it('lists the connections and shows one: settings with secrets as set/not set, the Outbound Message URL, metadata, the webhook', async () => {
    await page.goto(`${base}/setup`);
    expect(await page.locator('#config-mode').textContent()).toContain('Configuration version 1');
    expect(await page.locator('#connections tr[data-connection="demo"]').count()).toBe(1);
    await shot('connections');

    await page.click('#connections a');
    await page.waitForURL(/\/setup\/connections\/demo$/);
    const secret = await page.locator('#salesforce-settings tr[data-setting="salesforce.auth.password"] td').textContent();
    expect(secret).toBe('set from the environment (SF_PASSWORD)');
    expect(await page.content()).not.toContain('sim-password');
    expect(await page.locator('#outbound-url').textContent()).toBe(h.outboundUrl);
    expect(await page.locator('#webhook td[data-state]').getAttribute('data-state')).toBe('ok');
    expect(await page.locator('#metadata-files a').count()).toBeGreaterThan(0);
    await shot('connection');
  });

  it('repairs the Field Nation webhook with its button when its events drift', async () => {
    const client = new FieldNationClient({ environment: h.fn.url, credentials: DEFAULT_CREDENTIALS });
    const [hook] = (await client.listWebhooks()).filter((w) => w.url === `${h.ingressUrl}/fieldnation/webhooks/demo`);
    const events = hook!.events;
    await client.updateWebhook(hook!.webhookId, { events: events.slice(0, 1) });
    await page.reload();
    expect(await page.locator('#webhook td[data-state]').getAttribute('data-state')).toBe('needs-repair');
    await page.click('#webhook-apply');
    await page.waitForURL(/done=/);
    expect(await page.locator('.notice[role=status]').textContent()).toContain(`Webhook ${hook!.webhookId} updated`);
    expect(await page.locator('#webhook td[data-state]').getAttribute('data-state')).toBe('ok');
    expect([...(await client.listWebhooks()).find((w) => w.webhookId === hook!.webhookId)!.events].sort()).toEqual([...events].sort());
  });

  it('discovers the custom object’s fields, through a parent relationship, counting the describes', async () => {
    await page.fill('#new-object', OBJECT);
    await page.click('#add-object button');
    await page.waitForURL(new RegExp(`/objects/${OBJECT}/fields$`));
    const status = page.locator(`#fields tr[data-path="Status__c"]`);
    expect(await status.locator('td').nth(2).textContent()).toMatch(/^picklist/);
    expect(await status.locator('td').nth(3).textContent()).toContain('Technician Assigned');
    expect(await page.locator('#api-calls strong').textContent()).toBe('1');
    await page.click('a.relationship:has-text("Account__r")');
    await page.waitForURL(/path=Account__r$/);
    expect(await page.locator('#fields tr[data-path="Account__r.Name"]').count()).toBe(1);
    expect(await page.locator('#api-calls strong').textContent()).toBe('2');
    await shot('fields');
  });

  it('refuses invalid input with the field highlighted, as you type and on save', async () => {
    await page.goto(mappingUrl());
    await page.fill('#trigger', 'Send_to_Field_Nation__c = true');
    await row(0, 'target').fill('titel');
    await row(0, 'action').selectOption('template');
    await row(0, 'options').fill('Setup {{Name}}: {{Subject__c}}');
    // Validation as you type (the page's script posts the form to the validate endpoint).
    await expect.poll(() => row(0, 'target').getAttribute('aria-invalid'), { timeout: 10_000 }).toBe('true');
    expect(await page.locator('[data-issue-for="row-0"]').textContent()).toContain('did you mean "title"');
    // A source that the describe shows does not exist.
    await row(1, 'target').fill('description.html');
    await row(1, 'source').fill('Descripton__c');
    await expect.poll(() => row(1, 'source').getAttribute('aria-invalid'), { timeout: 10_000 }).toBe('true');
    await shot('mapping-invalid');
    // The server refuses it too (the script is not what guards).
    await page.click('#save');
    await page.waitForLoadState();
    expect(await page.locator('#save-error').textContent()).toContain('Not saved');
    expect(await row(0, 'target').getAttribute('aria-invalid')).toBe('true');
    expect(await row(1, 'source').getAttribute('aria-invalid')).toBe('true');
    expect(await h.prisma.configVersion.count()).toBe(1);
  });

  it('builds the mapping from discovered fields and previews it against a live record: one API call, no write', async () => {
    await row(0, 'target').fill('title');
    await row(0, 'required').check();
    await row(1, 'source').fill('Description__c');
    for (let i = 0; i < 2; i++) await page.click('#add-row');
    const rows: [string, string, string, string][] = [
      ['confidential.html', 'from', 'Account__r.Name', ''],
      ['pay.type', 'value', '', 'fixed'],
      ['pay.base.amount', 'map', 'Status__c', '{ map: { New: 150, Scheduled: 175 }, fallback: 120 }'],
      ['pay.base.units', 'value', '', '1'],
    ];
    for (const [k, [target, action, source, options]] of rows.entries()) {
      const i = k + 2;
      await row(i, 'target').fill(target);
      await row(i, 'action').selectOption(action);
      if (source) await row(i, 'source').fill(source);
      if (options) await row(i, 'options').fill(options);
    }
    await expect.poll(() => page.locator('#live-issues').textContent(), { timeout: 10_000 }).toBe('Valid.');
    expect(await page.locator('.invalid').count()).toBe(0);

    const ticket = newTicket(false);
    const before = h.sf.counters().apiCalls;
    await page.fill('#recordId', ticket);
    await page.click('#preview');
    await page.waitForSelector('#preview-result');
    const after = h.sf.counters().apiCalls;
    expect(after.total - before.total).toBe(1);
    expect(
      Object.entries(after.byEndpoint)
        .filter(([e, n]) => (before.byEndpoint[e] ?? 0) !== n)
        .map(([e]) => e),
    ).toEqual(['GET /query']);
    expect(await page.locator('#preview-counts [data-sf-calls]').textContent()).toBe('1');
    expect(await page.locator('#preview tr[data-target="title"] td').nth(1).textContent()).toBe(
      `"Setup ST-SETUP-${seq}: Replace the badge reader"`,
    );
    expect(await page.locator('#preview tr[data-target="pay.base.amount"] td').nth(1).textContent()).toBe('175');
    expect(await page.locator('#preview tr[data-target="confidential.html"] td').nth(1).textContent()).toContain('Acme');
    expect(await page.locator('#preview-result').textContent()).toContain('Not synced yet');
    expect(await h.synced(ticket)).toBeUndefined();
    await shot('mapping-preview');
  });

  it('looks up Field Nation’s catalogues and puts entries into rows by name: they validate, each list asked for once', async () => {
    const listed = (what: string) => h.fn.counters().routes[`GET /api/rest/v2/${what}`]?.calls ?? 0;
    const before = { typesOfWork: listed('types-of-work'), customFields: listed('custom-fields') };
    const fnRequests = () => page.locator('#lookup-counts [data-fn-requests]').textContent();
    await page.click('#add-row');
    await row(6, 'target').click();
    expect(await page.locator('#lookup-row').textContent()).toContain('Row 7 (blank) is selected');

    await page.selectOption('#lookup-catalogue', 'types-of-work');
    await page.fill('#lookup-search', 'point');
    await page.click('#lookup');
    await page.waitForSelector('#lookup-results');
    expect(await page.locator('#lookup-results tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-name')))).toEqual([
      'Point of Sale',
    ]);
    expect(Number(await fnRequests())).toBeGreaterThanOrEqual(1);
    expect(listed('types-of-work') - before.typesOfWork).toBe(1);
    // Again, the whole list this time: from the dashboard's cache, no Field Nation request.
    await page.fill('#lookup-search', '');
    await page.press('#lookup-search', 'Enter');
    await expect.poll(() => page.locator('#lookup-results tbody tr').count(), { timeout: 10_000 }).toBe(5);
    expect(await fnRequests()).toBe('0');
    expect(await page.locator('#lookup-counts').textContent()).toContain('5 of 5 types of work');

    await page.click('#lookup-results tr[data-name="Point of Sale"] button[data-use="name"]');
    expect(await row(6, 'target').inputValue()).toBe('types_of_work');
    expect(await row(6, 'action').inputValue()).toBe('value');
    expect(await row(6, 'options').inputValue()).toBe('[{ id: { typeOfWork: "Point of Sale" }, isPrimary: true }]');
    await expect.poll(() => page.locator('#live-issues').textContent(), { timeout: 10_000 }).toBe('Valid.');
    // A misspelt name is refused, with the entry it was probably meant to be.
    await row(6, 'options').fill('[{ id: { typeOfWork: "Point of Sael" }, isPrimary: true }]');
    await expect.poll(() => row(6, 'options').getAttribute('aria-invalid'), { timeout: 10_000 }).toBe('true');
    expect(await page.locator('[data-issue-for="row-6"]').textContent()).toContain('close: "Point of Sale" (62)');
    // With the cursor in the options, the entry goes where the cursor is.
    await row(6, 'options').fill('[{ id: , isPrimary: true }]');
    await row(6, 'options').evaluate((el) => (el as unknown as { setSelectionRange(a: number, b: number): void }).setSelectionRange(7, 7));
    await page.click('#lookup-results tr[data-name="Point of Sale"] button[data-use="name"]');
    expect(await row(6, 'options').inputValue()).toBe('[{ id: { typeOfWork: "Point of Sale" }, isPrimary: true }]');
    await expect.poll(() => page.locator('#live-issues').textContent(), { timeout: 10_000 }).toBe('Valid.');

    // A custom field by name is a target of its own: into the next blank row, then its source.
    await page.click('#add-row');
    await page.selectOption('#lookup-catalogue', 'custom-fields');
    await page.fill('#lookup-search', 'store');
    await page.click('#lookup');
    await page.waitForSelector('#lookup-results tr[data-name="Store Number"]');
    expect(await page.locator('#lookup-results tr[data-name="Store Number"] td').nth(2).textContent()).toBe('text');
    await row(7, 'target').click();
    await page.click('#lookup-results tr[data-name="Store Number"] button[data-use="name"]');
    expect(await row(7, 'target').inputValue()).toBe('customFields.Store Number');
    await row(7, 'source').fill('Name');
    await expect.poll(() => page.locator('#live-issues').textContent(), { timeout: 10_000 }).toBe('Valid.');
    await expect.poll(() => page.locator('#generated-yaml').textContent(), { timeout: 10_000 }).toContain('Store Number: Name');
    expect(listed('types-of-work') - before.typesOfWork).toBe(1);
    expect(listed('custom-fields') - before.customFields).toBe(1);
    await shot('lookups');

    const unknown = await page.request.get(`${base}/setup/connections/demo/lookups?catalogue=clients`);
    expect(unknown.status()).toBe(400);
    expect(((await unknown.json()) as { error: string }).error).toContain('types-of-work, custom-fields, templates, projects');
  });

  it('looks up without the page’s script too: the form posts, the rows stay as typed', async () => {
    const plain = await browser.newContext({ httpCredentials: { username: USER, password: PASSWORD }, javaScriptEnabled: false });
    try {
      const p = await plain.newPage();
      await p.goto(mappingUrl());
      await p.fill('[name="rows[0][target]"]', 'project.id');
      await p.selectOption('[name="rows[0][action]"]', 'value');
      await p.fill('[name="rows[0][options]"]', '{ project: "Retail Rollout 2026" }');
      await p.selectOption('#lookup-catalogue', 'projects');
      await p.fill('#lookup-search', 'retail');
      await p.click('#lookup');
      await p.waitForSelector('#lookup-results');
      expect(await p.locator('#lookup-results tbody tr').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-id')))).toEqual(['55']);
      expect(await p.locator('#lookup-results tr[data-id="55"]').textContent()).toContain('{ project: "Retail Rollout 2026" }');
      expect(await p.inputValue('[name="rows[0][options]"]')).toBe('{ project: "Retail Rollout 2026" }');
      expect(await p.locator('[name="rows[0][options]"]').getAttribute('aria-invalid')).toBeNull();
      expect(await p.locator('#live-issues').getAttribute('class')).toBe('');
      expect(await h.prisma.configVersion.count()).toBe(1);
    } finally {
      await plain.close();
    }
  });

  it('saves it as version 2; the next Outbound Message makes a work order with it, no app restarted', async () => {
    await page.fill('#message', 'map service tickets');
    await page.click('#save');
    await page.waitForURL(/saved=2$/);
    expect(await page.locator('#notice').textContent()).toContain('version 2');
    await shot('mapping');

    // The admin deploys the metadata the connection page now generates for the ticket.
    await page.goto(`${base}/setup/connections/demo`);
    const links = await page.locator('#metadata-files a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
    const ticketFiles = links.filter((l) => decodeURIComponent(l).includes('Service_Ticket'));
    expect(ticketFiles.length).toBe(2);
    const files = await Promise.all(
      ticketFiles.map(async (href) => {
        const res = await page.request.get(href);
        expect(res.ok()).toBe(true);
        return { path: new URL(href).searchParams.get('file')!, content: await res.text() };
      }),
    );
    expect(h.sf.deployMetadata(files).flows.length).toBe(1);

    const ticket = newTicket(true);
    expect(await workOrderTitle(ticket)).toBe(`Setup ST-SETUP-${seq}: Replace the badge reader`);
    const wo = h.fn.getWorkOrder((await h.synced(ticket))!.workOrderId!)!;
    expect((wo.pay as { base: { amount: number } }).base.amount).toBe(175);
    // The names picked from the catalogues, as ids on the work order.
    expect((wo.types_of_work as { id: number }[]).map((t) => t.id)).toEqual([62]);
    expect(customFieldValues(wo.custom_fields).get(608)).toBe(`ST-SETUP-${seq}`);
    for (const [name, a] of h.apps) expect([name, a.child.pid, a.child.exitCode]).toEqual([name, pids.get(name), null]);
  });

  it('a second version changes the title; rolling back to version 2 brings the old title back', async () => {
    await page.goto(mappingUrl());
    expect(await row(0, 'target').inputValue()).toBe('title');
    await row(0, 'options').fill('Changed {{Name}}');
    await expect.poll(() => page.locator('#live-issues').textContent(), { timeout: 10_000 }).toBe('Valid.');
    await page.click('#save');
    await page.waitForURL(/saved=3$/);
    const changed = newTicket(true);
    expect(await workOrderTitle(changed)).toBe(`Changed ST-SETUP-${seq}`);

    await page.goto(`${base}/setup/versions`);
    await page.click('button[data-rollback="2"]');
    await page.waitForURL(/rolledBack=4$/);
    expect(await page.locator('#versions tr[data-version="4"]').textContent()).toContain('restores 2');
    await shot('versions');
    const restored = newTicket(true);
    expect(await workOrderTitle(restored)).toBe(`Setup ST-SETUP-${seq}: Replace the badge reader`);

    // The preview of a synced record sets the mapping in force beside its work order: only the title differs.
    await page.goto(mappingUrl());
    await page.fill('#recordId', changed);
    await page.click('#preview');
    await page.waitForSelector('#preview-result');
    expect(await page.locator('#preview-wo').textContent()).toBe(String((await h.synced(changed))!.workOrderId));
    expect(await page.locator('#preview tr[data-target="title"]').getAttribute('data-changed')).toBe('true');
    expect(await page.locator('#preview tr[data-target="pay.type"]').getAttribute('data-changed')).toBe('false');
    expect(await page.locator('#preview-counts').textContent()).toContain('Field Nation requests: 1');
    for (const [name, a] of h.apps) expect([name, a.child.pid, a.child.exitCode]).toEqual([name, pids.get(name), null]);
  });

  it('edits the object’s event rules with a preview against a sample event, and saves them', async () => {
    await page.goto(`${base}/setup/connections/demo/objects/${OBJECT}/event-rules`);
    await page.selectOption('#eventName', 'workorder.status.assigned');
    await page.click('#preview');
    await page.waitForSelector('#rules-result');
    expect(await page.locator('#rules-changes').textContent()).toContain('Technician Assigned');
    await shot('event-rules');
    await page.fill('textarea[name="rules"]', 'object: Service_Ticket__c\nrules:\n  - name: x\n    fields: {}\n');
    await expect.poll(() => page.locator('textarea[name="rules"]').getAttribute('aria-invalid'), { timeout: 10_000 }).toBe('true');
    await page.click('#save');
    await page.waitForLoadState();
    expect(await h.prisma.configVersion.count()).toBe(4);
  });
});
