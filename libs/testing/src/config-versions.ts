// Configurations as bundles (main YAML and its two files) with every secret in the environment, for the
// specs of stored versions (libs/config-store, the worker apps' reload, the CLI's import and export).
import type { ConfigBundle } from '@broker/config';

export const SECRETS_ENV = {
  CS_SF_PASSWORD: 'sf-password-0123',
  CS_FN_CLIENT_SECRET: 'fn-client-secret-0123',
  CS_FN_PASSWORD: 'fn-password-0123',
  CS_FN_WEBHOOK_SECRET: '2c9e7f1a-4b6d-4e8f-a1b3-c5d7e9f1a3b5',
  CS_SF_PATH_TOKEN: 'tEsT-pAtH-t0ken_0123456789abcdef',
};

export function mainYaml(options: { trigger?: string; extra?: string; username?: string } = {}): string {
  return `# stored by a test
connections:
  - id: demo
    salesforce:
      instance: https://example.my.salesforce.com
      organizationId: 00D000000000001AAA
      pathToken: \${CS_SF_PATH_TOKEN}
      auth:
        flow: password
        username: ${options.username ?? 'integration@example.com'}
        password: \${CS_SF_PASSWORD}
      apiVersion: "62.0"
    fieldnation:
      environment: https://fieldnation.example.com
      auth:
        clientId: fn-client
        clientSecret: \${CS_FN_CLIENT_SECRET}
        username: buyer@example.com
        password: \${CS_FN_PASSWORD}
      webhookSecret: \${CS_FN_WEBHOOK_SECRET}
    objects:
      Case:
        mapping: mappings/case.yaml
        trigger: ${options.trigger ?? 'Send_to_Field_Nation__c = true'}
    eventRules: mappings/events.yaml
${options.extra ?? ''}`;
}

/** A mapping whose work-order title says which version made it. */
export const caseMapping = (label: string) => `object: Case\nfields:\n  title:\n    template: "${label} {{Subject}}"\n    required: true\n`;

export const EVENTS =
  'object: Case\nrules:\n  - name: status\n    on: workorder.status.*\n    fields:\n      Status: { value: Assigned }\n';

export function bundleOf(label: string, options: Parameters<typeof mainYaml>[0] = {}): ConfigBundle {
  return { main: mainYaml(options), files: { 'mappings/case.yaml': caseMapping(label), 'mappings/events.yaml': EVENTS } };
}
