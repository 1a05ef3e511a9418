import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '@broker/config';
import { webhookEvents } from '../src/webhook-plan';

const root = path.resolve(import.meta.dirname, '../../..');

function demoConfig(extra: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'plan-files-'));
  const text = readFileSync(path.join(root, 'config/demo.yaml'), 'utf8').replace(/mappings\//g, `${path.join(root, 'config/mappings')}/`);
  const file = path.join(dir, 'broker.yaml');
  writeFileSync(file, text + extra);
  return loadConfig(file, { SF_OM_PATH_TOKEN: 'tEsT-pAtH-t0ken_0123456789abcdef' });
}

describe('webhook plan with files', () => {
  it('subscribes provider uploads (and completion) only when files go to Salesforce', () => {
    const without = demoConfig('');
    expect(webhookEvents(without, without.connections[0]!)).not.toContain('workorder.provider_upload');
    const withFiles = demoConfig('    files: { toSalesforce: true }\n');
    const events = webhookEvents(withFiles, withFiles.connections[0]!);
    expect(events).toContain('workorder.provider_upload');
    expect(events).toContain('workorder.status.work_done');
  });
});
