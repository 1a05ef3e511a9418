import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import type { CliIo } from '../src/cli-io';

export interface CapturedIo extends CliIo {
  stdout: string[];
  stderr: string[];
  progress: string[];
}

/** An io that records what a command prints; `tty` makes it look like an interactive terminal. */
export function captureIo(options: { tty?: boolean } = {}): CapturedIo {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const progress: string[] = [];
  const stream = Object.assign(new PassThrough(), {
    isTTY: options.tty ?? false,
    columns: 100,
    cursorTo: () => true,
    clearLine: () => true,
    moveCursor: () => true,
  });
  stream.on('data', (d: Buffer) => progress.push(d.toString()));
  return {
    stdout,
    stderr,
    progress,
    out: (t) => void stdout.push(t),
    err: (t) => void stderr.push(t),
    stderrIsTTY: options.tty ?? false,
    progressStream: stream,
  };
}

export const tmpDir = (label: string) => mkdtempSync(path.join(os.tmpdir(), `broker-cli-${label}-`));

export const freshPrefix = (label = 'tc') => `${label}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

export const ORG_ID = '00D000000000001AAA';

/** A connection's Field Nation block (credentials the CLI's config commands never use) with its webhook secret. */
const fieldnationYaml = (webhookSecret: string) => `    fieldnation:
      auth: { clientId: c, clientSecret: s, username: u, password: p }
      webhookSecret: ${webhookSecret}`;

/** A two-connection config; mapping paths point at the repo's example mappings. */
export function testConfigYaml(mappingsDir: string): string {
  return `
connections:
  - id: demo
    salesforce:
      organizationId: ${ORG_ID}
      pathToken: tEsT-pAtH-t0ken_0123456789abcdef
      apiVersion: "61.0"
      auth: { flow: password, username: integration@example.com, password: p }
${fieldnationYaml('5d1f0a3c-7b2e-4c8d-9a6f-1e2b3c4d5e6f')}
    objects:
      Case:
        mapping: ${mappingsDir}/case-to-work-order.yaml
        trigger: Send_to_Field_Nation__c = true
      Work_Request__c:
        mapping: ${mappingsDir}/case-to-work-order.yaml
        trigger: "Status__c = 'Ready' AND Region__c != null"
      CaseComment: { messages: true }
    eventRules: ${mappingsDir}/case-events.yaml
  - id: locked
    salesforce:
      organizationId: ${ORG_ID}
      instance: https://locked.my.salesforce.com
      pathToken: a-secret-path-token-0123
      auth: { flow: client-credentials, clientId: c, clientSecret: s }
${fieldnationYaml('8e4a2b6c-1d3f-4a5b-8c7d-9e0f1a2b3c4d')}
    objects:
      Opportunity:
        mapping: ${mappingsDir}/case-to-work-order.yaml
        trigger: "StageName = 'Closed Won'"
`;
}
