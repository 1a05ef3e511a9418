/** The path token of test configs (Outbound Messages need one): 32 base64url characters, 192 bits. */
export const TEST_PATH_TOKEN = 'tEsT-pAtH-t0ken_0123456789abcdef';

/** The simulator's default integration user, logging in with username and password (SOAP). */
export const SIM_PASSWORD_AUTH = '{ flow: password, username: integration@example.com, password: sim-password, securityToken: SIMTOKEN }';

/**
 * The `demo` connection of a broker config as tests write it: Salesforce at `salesforceUrl` with the
 * simulator's default integration user, a Field Nation side that is not called, and `objects`.
 * `salesforceExtra` is YAML appended under `salesforce:` (6-space indented lines); `auth` replaces the
 * password login (a YAML flow mapping).
 */
export function simConnectionYaml(options: { salesforceUrl: string; objects?: string; salesforceExtra?: string; auth?: string }): string {
  return `connections:
  - id: demo
    salesforce:
      instance: ${options.salesforceUrl}
      organizationId: 00D000000000001EAA
      pathToken: ${TEST_PATH_TOKEN}
      auth: ${options.auth ?? SIM_PASSWORD_AUTH}
${options.salesforceExtra ? `${options.salesforceExtra}\n` : ''}    fieldnation:
      auth: { clientId: c, clientSecret: s, username: u, password: p }
      webhookSecret: 2c9e7f1a-4b6d-4e8f-a1b3-c5d7e9f1a3b5
    objects: ${options.objects ?? '{ Case: { mapping: x.yaml } }'}
`;
}
