/** The path token of test configs (Outbound Messages need one): 32 base64url characters, 192 bits. */
export const TEST_PATH_TOKEN = 'tEsT-pAtH-t0ken_0123456789abcdef';

/** The simulator's default integration user, logging in with username and password (SOAP). */
export const SIM_PASSWORD_AUTH = '{ flow: password, username: integration@example.com, password: sim-password, securityToken: SIMTOKEN }';

/**
 * The `demo` connection of a broker config as tests write it. Salesforce at `salesforceUrl` (by default
 * an org that is not called, with client-credentials auth), Field Nation with `fieldnationAuth` (by
 * default credentials that are not called), and `objects`. `salesforceExtra` and `fieldnationExtra` are
 * YAML appended under `salesforce:` and `fieldnation:` (6-space indented lines).
 */
export function demoConnectionYaml(
  options: {
    salesforceUrl?: string;
    salesforceAuth?: string;
    salesforceExtra?: string;
    fieldnationAuth?: string;
    fieldnationExtra?: string;
    objects?: string;
  } = {},
): string {
  const extra = (lines?: string) => (lines ? `${lines}\n` : '');
  return `connections:
  - id: demo
    salesforce:
      instance: ${options.salesforceUrl ?? 'https://example.my.salesforce.com'}
      organizationId: 00D000000000001EAA
      pathToken: ${TEST_PATH_TOKEN}
      auth: ${options.salesforceAuth ?? '{ flow: client-credentials, clientId: a, clientSecret: b }'}
${extra(options.salesforceExtra)}    fieldnation:
      auth: ${options.fieldnationAuth ?? '{ clientId: c, clientSecret: s, username: u, password: p }'}
      webhookSecret: 2c9e7f1a-4b6d-4e8f-a1b3-c5d7e9f1a3b5
${extra(options.fieldnationExtra)}    objects: ${options.objects ?? '{ Case: { mapping: x.yaml } }'}
`;
}

/**
 * The `demo` connection against the Salesforce simulator at `salesforceUrl`, logging in as the
 * simulator's default integration user unless `auth` (a YAML flow mapping) says otherwise (see
 * demoConnectionYaml for the other options).
 */
export function simConnectionYaml(options: { salesforceUrl: string; objects?: string; salesforceExtra?: string; auth?: string }): string {
  const { auth, ...rest } = options;
  return demoConnectionYaml({ ...rest, salesforceAuth: auth ?? SIM_PASSWORD_AUTH });
}
