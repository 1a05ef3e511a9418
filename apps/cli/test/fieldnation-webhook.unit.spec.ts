import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@broker/config';
import { createLogger } from '@broker/runtime';
import { startFieldNationSim, type FieldNationSim } from '../../fieldnation-sim/src/index';
import { workspaceRoot } from '../../../vitest.shared';
import { fieldnationWebhookCommand, loadWebhookConfig } from '../src/fieldnation-webhook.command';
import { CliError } from '../src/cli-io';
import { captureIo, tmpDir } from './cli-test-kit';

let sim: FieldNationSim;
let configFile: string;
const mappings = path.join(workspaceRoot, 'config/mappings');

beforeAll(async () => {
  sim = await startFieldNationSim({ logger: createLogger({ service: 'fn-sim', level: 'silent' }) });
  configFile = path.join(tmpDir('webhook'), 'broker.yaml');
  const connection = (id: string, secret: string, rules: boolean) => `
  - id: ${id}
    salesforce:
      organizationId: 00D000000000001AAA
      pathToken: tEsT-pAtH-t0ken_0123456789abcdef
      auth: { flow: password, username: integration@example.com, password: p }
    fieldnation:
      environment: ${sim.url}
      auth: { clientId: fn-sim-client, clientSecret: fn-sim-secret, username: buyer@example.com, password: sim-password }
      webhookSecret: ${secret}
    objects:
      Case: { mapping: ${mappings}/case-to-work-order.yaml }${rules ? `\n    eventRules: ${mappings}/case-events.yaml` : ''}`;
  writeFileSync(
    configFile,
    `connections:${connection('demo', '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f', true)}${connection('norules', '8e4a2b6c-1d3f-4a5b-8c7d-9e0f1a2b3c4d', false)}\n`,
  );
});

afterAll(async () => {
  await sim?.close();
});

describe('broker fieldnation webhook', () => {
  it('plans exactly the events the rules listen to and changes nothing without --apply', async () => {
    const io = captureIo();
    await fieldnationWebhookCommand(loadConfig(configFile), { connection: 'demo', url: 'https://broker.example.com/' }, io);
    const text = io.stdout.join('\n');
    expect(text).toContain('POST https://broker.example.com/fieldnation/webhooks/demo');
    // case-events.yaml: workorder.status.* and workorder.message_posted, nothing else
    expect(text).toContain('workorder.status.checked_in');
    expect(text).toContain('workorder.message_posted');
    expect(text).not.toContain('workorder.created');
    expect(text).toMatch(/nothing changed/);
    expect(sim.listWebhooks()).toHaveLength(0);
  });

  it('creates the webhook on Field Nation, then updates the same one instead of adding a second', async () => {
    const url = 'http://127.0.0.1:3000';
    const first = captureIo();
    await fieldnationWebhookCommand(loadConfig(configFile), { connection: 'demo', url, apply: true }, first);
    expect(first.stdout.join('\n')).toMatch(/created webhook/);
    const [hook] = sim.listWebhooks();
    expect(hook).toMatchObject({
      url: `${url}/fieldnation/webhooks/demo`,
      secret: '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f',
      status: 'active',
    });
    expect(hook!.events).toContain('workorder.status.work_done');
    expect(hook!.events).not.toContain('workorder.created');

    const second = captureIo();
    await fieldnationWebhookCommand(loadConfig(configFile), { connection: 'demo', url, apply: true }, second);
    expect(second.stdout.join('\n')).toContain(`updated webhook ${hook!.webhookId}`);
    expect(sim.listWebhooks()).toHaveLength(1);
  });

  it('generates a UUID secret when none is set (or it is not a UUID) and names the variable to store it in', () => {
    const dir = tmpDir('webhook-secret');
    const file = path.join(dir, 'broker.yaml');
    const text = (secret: string) =>
      `connections:\n  - id: demo\n    salesforce:\n      organizationId: 00D000000000001AAA\n      pathToken: tEsT-pAtH-t0ken_0123456789abcdef\n      auth: { flow: password, username: integration@example.com, password: p }\n    fieldnation:\n      environment: ${sim.url}\n      auth: { clientId: fn-sim-client, clientSecret: fn-sim-secret, username: buyer@example.com, password: sim-password }\n      webhookSecret: ${secret}\n    objects:\n      Case: { mapping: ${mappings}/case-to-work-order.yaml }\n`;
    const previous = process.env.FN_TEST_WEBHOOK_SECRET;
    delete process.env.FN_TEST_WEBHOOK_SECRET;
    try {
      writeFileSync(file, text('${FN_TEST_WEBHOOK_SECRET}'));
      const io = captureIo();
      expect(() => loadWebhookConfig(file, io)).toThrow(/no usable webhook secret/);
      const out = io.stdout.join('\n');
      expect(out).toMatch(/demo: fieldnation\.webhookSecret is missing or not a UUID/);
      expect(out).toMatch(/^  [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/m);
      expect(out).toContain('environment variable FN_TEST_WEBHOOK_SECRET');

      process.env.FN_TEST_WEBHOOK_SECRET = 'demo-webhook-secret';
      expect(() => loadWebhookConfig(file, captureIo())).toThrow(CliError);
      process.env.FN_TEST_WEBHOOK_SECRET = '9a7c5e3b-1d2f-4e6a-8b0c-2d4e6f8a0b1c';
      expect(loadWebhookConfig(file, captureIo()).connections[0]!.fieldnation.webhookSecret).toBe('9a7c5e3b-1d2f-4e6a-8b0c-2d4e6f8a0b1c');

      writeFileSync(file, text('not-a-uuid'));
      const literal = captureIo();
      expect(() => loadWebhookConfig(file, literal)).toThrow(CliError);
      expect(literal.stdout.join('\n')).toContain('Set fieldnation.webhookSecret to ${FN_WEBHOOK_SECRET}');
    } finally {
      if (previous === undefined) delete process.env.FN_TEST_WEBHOOK_SECRET;
      else process.env.FN_TEST_WEBHOOK_SECRET = previous;
    }
  });

  it('refuses without a public URL, for a connection without event rules, and for an unknown connection', async () => {
    const config = loadConfig(configFile);
    await expect(fieldnationWebhookCommand(config, { connection: 'demo' }, captureIo())).rejects.toThrow(/--url or PUBLIC_URL/);
    await expect(fieldnationWebhookCommand(config, { connection: 'norules', url: 'https://x' }, captureIo())).rejects.toThrow(
      /no eventRules/,
    );
    await expect(fieldnationWebhookCommand(config, { connection: 'nope', url: 'https://x' }, captureIo())).rejects.toBeInstanceOf(CliError);
  });
});
