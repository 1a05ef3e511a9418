import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort, redisUrl } from '@broker/testing';
import { buildOutboundMessage, makeId } from '@broker/salesforce';
import { deleteQueueKeys } from '../../../scripts/lib/broker-harness';
import { DEMO_OUTBOUND, DEMO_TOKEN, ORG_ID, testConfigYaml } from './ingress-test-kit';
import { spawnIngressMain, waitUntilServing, type IngressProcess } from './ingress-process';

// The ingress as deployed: its main.ts in a child process, with the env it reads.
let ingress: IngressProcess | undefined;
const prefixes: string[] = [];
afterEach(() => {
  ingress?.child.kill('SIGKILL');
  ingress = undefined;
});
afterAll(async () => {
  const redis = new Redis(redisUrl());
  for (const prefix of prefixes) await deleteQueueKeys(redis, prefix);
  redis.disconnect();
});

function start(configText: string, env: Record<string, string>) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ingress-main-'));
  const file = path.join(dir, 'broker.yaml');
  writeFileSync(file, configText);
  const prefix = `tim${Date.now().toString(36)}${prefixes.length}`;
  prefixes.push(prefix);
  ingress = spawnIngressMain({ BROKER_CONFIG: file, REDIS_URL: redisUrl(), QUEUE_PREFIX: prefix, ...env });
  return ingress;
}

describe('ingress process', () => {
  it('refuses to start with a connection that has no path token, naming the key and the fix', async () => {
    const { output, exited } = start(testConfigYaml.replace(/\n\s*pathToken: .*/, ''), { PORT: '0', OPS_PORT: '0' });
    expect(await exited).toBe(78);
    const text = output.join('');
    expect(text).toContain('connections[0].salesforce.pathToken: required');
    expect(text).toContain('broker salesforce path-token');
  }, 30_000);

  it('serves /metrics on the ops port only', async () => {
    const [port, opsPort] = [await freePort(), await freePort()];
    const started = start(testConfigYaml, { PORT: String(port), OPS_PORT: String(opsPort) });
    await waitUntilServing(`http://127.0.0.1:${port}/readyz`, started);
    await waitUntilServing(`http://127.0.0.1:${opsPort}/readyz`, started);
    // One refused request, so that a counter has a sample.
    await (await fetch(`http://127.0.0.1:${port}/salesforce/outbound/demo`, { method: 'POST', body: '<x/>' })).text();
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${opsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/broker_ingress_rejected_total\{[^}]*reason="unknown-endpoint"[^}]*\} 1/);
    // The endpoints themselves are not on the ops port.
    expect((await fetch(`http://127.0.0.1:${opsPort}${DEMO_OUTBOUND}`, { method: 'POST', body: '<x/>' })).status).toBe(404);
  }, 60_000);

  it('captures redacted deliveries only when CAPTURE_DIR is set, and says so at start-up', async () => {
    const message = (n: number) =>
      buildOutboundMessage({
        organizationId: ORG_ID,
        actionId: makeId('04k', 1),
        sessionId: 'MAIN-SESSION-CANARY',
        enterpriseUrl: 'https://x/services/Soap/c/62.0/00D000000000001',
        partnerUrl: 'https://x/services/Soap/u/62.0/00D000000000001',
        notifications: [
          {
            id: makeId('04l', n),
            sObjectType: 'Case',
            fields: { Id: makeId('500', n), Subject: 'Main subject canary', Status: 'Escalated' },
          },
        ],
      });
    const post = (port: number, body: string) =>
      fetch(`http://127.0.0.1:${port}${DEMO_OUTBOUND}`, { method: 'POST', body, headers: { 'content-type': 'text/xml' } });

    const offPort = await freePort();
    const off = start(testConfigYaml, { PORT: String(offPort), OPS_PORT: '0' });
    await waitUntilServing(`http://127.0.0.1:${offPort}/readyz`, off);
    expect((await post(offPort, message(1))).status).toBe(200);
    expect(off.output.join('')).not.toContain('payload capture');
    off.child.kill('SIGKILL');

    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'ingress-capture-')), 'captures');
    const port = await freePort();
    const on = start(testConfigYaml, {
      PORT: String(port),
      OPS_PORT: '0',
      CAPTURE_DIR: dir,
      CAPTURE_LIMIT: '5',
      CAPTURE_REDACT_FIELDS: 'Status',
    });
    await waitUntilServing(`http://127.0.0.1:${port}/readyz`, on);
    expect(on.output.join('')).toContain('payload capture is on');
    expect((await post(port, message(2))).status).toBe(200);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !readdirSync(dir).some((f) => f.endsWith('.json'))) await new Promise((r) => setTimeout(r, 50));
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(1);
    const text = readFileSync(path.join(dir, files[0]!), 'utf8');
    // Status is redacted only because CAPTURE_REDACT_FIELDS names it.
    for (const canary of ['MAIN-SESSION-CANARY', 'Main subject canary', 'Escalated', DEMO_TOKEN]) expect(text).not.toContain(canary);
    expect(text).toContain(makeId('500', 2));
  }, 90_000);
});
