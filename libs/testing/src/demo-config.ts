import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type LoadedConfig } from '@broker/config';
import { TEST_PATH_TOKEN } from './test-config';

// The demo connection (config/demo.yaml and the mappings the demo runs with) is known to work end to
// end against both simulators (apps/broker-e2e): specs of the preflight (doctor, dashboard) start from it.
const workspaceRoot = path.resolve(import.meta.dirname, '../../..');
export const DEMO_MAPPINGS = path.join(workspaceRoot, 'config/mappings');
/** The broker's public URL the demo's Field Nation webhook points at. */
export const DEMO_PUBLIC_URL = 'http://127.0.0.1:3000';
/** The demo's Field Nation webhook secret (config/demo.yaml). */
export const DEMO_WEBHOOK_SECRET = '5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f';

/**
 * The demo's webhook for `events` (those its event rules listen to), as `broker fieldnation webhook
 * --apply` (and the e2e harness) registers it.
 */
export function demoWebhook(events: readonly string[], url = `${DEMO_PUBLIC_URL}/fieldnation/webhooks/demo`) {
  return { url, secret: DEMO_WEBHOOK_SECRET, events: [...events] };
}

/**
 * config/demo.yaml against simulators at these URLs, written to a fresh temporary folder and loaded;
 * `editMapping` rewrites the case mapping's text, `editConfig` the config's, `env` adds variables.
 */
export function loadDemoConfig(
  simulators: { salesforceUrl: string; fieldnationUrl: string },
  options: { env?: NodeJS.ProcessEnv; editMapping?: (text: string) => string; editConfig?: (text: string) => string } = {},
): LoadedConfig {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'broker-demo-config-'));
  let mapping = path.join(DEMO_MAPPINGS, 'case-to-work-order.yaml');
  if (options.editMapping) {
    const edited = options.editMapping(readFileSync(mapping, 'utf8'));
    mapping = path.join(dir, 'case-to-work-order.yaml');
    writeFileSync(mapping, edited);
  }
  const text = readFileSync(path.join(workspaceRoot, 'config/demo.yaml'), 'utf8')
    .replace('mapping: mappings/case-to-work-order.yaml', `mapping: ${mapping}`)
    .replace('eventRules: mappings/', `eventRules: ${DEMO_MAPPINGS}/`);
  const file = path.join(dir, 'broker.yaml');
  writeFileSync(file, options.editConfig ? options.editConfig(text) : text);
  return loadConfig(file, {
    SF_LOGIN_URL: simulators.salesforceUrl,
    FN_BASE_URL: simulators.fieldnationUrl,
    SF_OM_PATH_TOKEN: TEST_PATH_TOKEN,
    ...options.env,
  });
}
