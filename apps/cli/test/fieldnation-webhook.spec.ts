import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@broker/config';
import { createLogger } from '@broker/runtime';
import { startFieldNationSim, type FieldNationSim } from '../../fieldnation-sim/src/index';
import { workspaceRoot } from '../../../vitest.shared';
import { fieldnationWebhookCommand } from '../src/fieldnation-webhook.command';
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
  writeFileSync(configFile, `connections:${connection('demo', 'demo-webhook-secret', true)}${connection('norules', 'other-webhook-secret', false)}\n`);
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
    expect(hook).toMatchObject({ url: `${url}/fieldnation/webhooks/demo`, secret: 'demo-webhook-secret', status: 'active' });
    expect(hook!.events).toContain('workorder.status.work_done');
    expect(hook!.events).not.toContain('workorder.created');

    const second = captureIo();
    await fieldnationWebhookCommand(loadConfig(configFile), { connection: 'demo', url, apply: true }, second);
    expect(second.stdout.join('\n')).toContain(`updated webhook ${hook!.webhookId}`);
    expect(sim.listWebhooks()).toHaveLength(1);
  });

  it('refuses without a public URL, for a connection without event rules, and for an unknown connection', async () => {
    const config = loadConfig(configFile);
    await expect(fieldnationWebhookCommand(config, { connection: 'demo' }, captureIo())).rejects.toThrow(/--url or PUBLIC_URL/);
    await expect(fieldnationWebhookCommand(config, { connection: 'norules', url: 'https://x' }, captureIo())).rejects.toThrow(/no eventRules/);
    await expect(fieldnationWebhookCommand(config, { connection: 'nope', url: 'https://x' }, captureIo())).rejects.toBeInstanceOf(CliError);
  });
});
