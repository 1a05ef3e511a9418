import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOutboundMessage, makeId } from '@broker/salesforce';
import { ORG_ID, startIngress, type IngressUnderTest } from './ingress-test-kit';

// The optional defences of an Outbound Message endpoint, over real HTTP and a real TLS listener.
const TOKEN = 'gUaRd-t0ken_Zq8Rw2Lx5Vn7Kp4Hs9J';
let counter = 0;
const envelope = () =>
  buildOutboundMessage({
    organizationId: ORG_ID,
    actionId: makeId('04k', 1),
    sessionId: null,
    enterpriseUrl: '',
    partnerUrl: '',
    notifications: [{ id: makeId('04l', 70_000 + ++counter), sObjectType: 'Case', fields: { Id: makeId('500', 70_000 + counter) } }],
  });

function configYaml(salesforceExtra: string, ingressSection = ''): string {
  return `
connections:
  - id: guarded
    salesforce:
      organizationId: ${ORG_ID}
      pathToken: ${TOKEN}
      auth: { flow: password, username: u, password: p }
${salesforceExtra}
    fieldnation:
      auth: { clientId: c, clientSecret: s, username: u, password: p }
      webhookSecret: 7e1d2c3b-4a5f-4e6d-8c7b-9a0f1e2d3c4b
    objects:
      Case: { mapping: x.yaml }
${ingressSection}`;
}

const fetchCount = async (i: IngressUnderTest) => Object.values(await i.fetchQueue.getJobCounts()).reduce((a, b) => a + b, 0);

async function postFrom(ingress: IngressUnderTest, headers: Record<string, string> = {}) {
  const before = await fetchCount(ingress);
  const res = await fetch(`${ingress.url}/salesforce/outbound/guarded/${TOKEN}`, {
    method: 'POST',
    body: envelope(),
    headers: { 'content-type': 'text/xml', ...headers },
  });
  const text = await res.text();
  return { status: res.status, text, stored: (await fetchCount(ingress)) - before };
}

describe('source network allow-list', () => {
  const started: IngressUnderTest[] = [];
  const start = async (yaml: string) => {
    const i = await startIngress({ configYaml: yaml });
    started.push(i);
    return i;
  };
  afterAll(async () => {
    for (const i of started) await i.close();
  });

  it('believes X-Forwarded-For only from the trusted proxy networks, and refuses sources outside the list', async () => {
    const ingress = await start(
      configYaml('      allowedSourceNetworks: [203.0.113.0/24, "2001:db8::/32"]', 'ingress: { trustProxy: [127.0.0.1/32] }'),
    );
    expect(await postFrom(ingress, { 'x-forwarded-for': '203.0.113.7' })).toMatchObject({ status: 200, stored: 1 });
    expect(await postFrom(ingress, { 'x-forwarded-for': '2001:db8::42' })).toMatchObject({ status: 200, stored: 1 });
    const outside = await postFrom(ingress, { 'x-forwarded-for': '198.51.100.9' });
    expect(outside).toMatchObject({ status: 500, stored: 0 });
    expect(outside.text).toContain('source address not allowed');
    // No header: the source is the proxy itself (127.0.0.1), which is not in the list.
    expect(await postFrom(ingress)).toMatchObject({ status: 500, stored: 0 });
  });

  it('ignores X-Forwarded-For without trustProxy: the TCP peer is the source', async () => {
    const ingress = await start(configYaml('      allowedSourceNetworks: [203.0.113.0/24]'));
    expect(await postFrom(ingress, { 'x-forwarded-for': '203.0.113.7' })).toMatchObject({ status: 500, stored: 0 });
    const local = await start(configYaml('      allowedSourceNetworks: [127.0.0.0/8]'));
    expect(await postFrom(local, { 'x-forwarded-for': '198.51.100.9' })).toMatchObject({ status: 200, stored: 1 });
  });

  it('with a hop count, takes the address the last proxy saw: a client-prepended address does not help', async () => {
    const ingress = await start(configYaml('      allowedSourceNetworks: [203.0.113.0/24]', 'ingress: { trustProxy: 1 }'));
    expect(await postFrom(ingress, { 'x-forwarded-for': '198.51.100.9, 203.0.113.7' })).toMatchObject({ status: 200, stored: 1 });
    expect(await postFrom(ingress, { 'x-forwarded-for': '203.0.113.7, 198.51.100.9' })).toMatchObject({ status: 500, stored: 0 });
  });
});

describe('client certificate', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ingress-tls-'));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  /** `openssl req` arguments for a new P-256 key written to `<name>.key`. */
  const newKey = (name: string) => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`];
  const selfSigned = (name: string, cn: string) =>
    openssl('req', '-x509', ...newKey(name), '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`);
  let fingerprint = '';
  const started: IngressUnderTest[] = [];

  beforeAll(() => {
    // The listener's own certificate, the org's API client certificate (self-signed, as Salesforce
    // generates it), an impostor with the same subject, and a CA with a certificate it signed.
    selfSigned('server', 'localhost');
    selfSigned('org', 'proxy.salesforce.test');
    selfSigned('impostor', 'proxy.salesforce.test');
    selfSigned('ca', 'Test Client CA');
    openssl('req', ...newKey('signed'), '-out', 'signed.csr', '-subj', '/CN=proxy.salesforce.test');
    openssl(
      'x509',
      '-req',
      '-in',
      'signed.csr',
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'signed.crt',
      '-days',
      '2',
    );
    fingerprint = new X509Certificate(readFileSync(file('org.crt'))).fingerprint256;
  });
  afterAll(async () => {
    for (const i of started) await i.close();
  });

  async function startTls(salesforceExtra: string) {
    const i = await startIngress({
      configYaml: configYaml(salesforceExtra),
      tls: { cert: readFileSync(file('server.crt')), key: readFileSync(file('server.key')), clientCa: readFileSync(file('ca.crt')) },
    });
    started.push(i);
    return i;
  }

  async function postTls(ingress: IngressUnderTest, client?: string) {
    const before = await fetchCount(ingress);
    const body = envelope();
    const answer = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.request(
        `${ingress.url}/salesforce/outbound/guarded/${TOKEN}`,
        {
          method: 'POST',
          // The test checks the server's view of the client; the server's own name is not under test.
          rejectUnauthorized: false,
          ...(client ? { cert: readFileSync(file(`${client}.crt`)), key: readFileSync(file(`${client}.key`)) } : {}),
          headers: { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(body) },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode!, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    return { ...answer, stored: (await fetchCount(ingress)) - before };
  }

  it('at a TLS listener, accepts the pinned certificate and refuses an impostor with the same subject, or none', async () => {
    const ingress = await startTls(`      clientCertificate: { sha256Fingerprints: ["${fingerprint}"] }`);
    expect(await postTls(ingress, 'org')).toMatchObject({ status: 200, stored: 1 });
    const impostor = await postTls(ingress, 'impostor');
    expect(impostor).toMatchObject({ status: 500, stored: 0 });
    expect(impostor.text).toContain('client certificate');
    expect(await postTls(ingress)).toMatchObject({ status: 500, stored: 0 });
  });

  it('checks a subject CN only on a chain the configured CA verified', async () => {
    const ingress = await startTls('      clientCertificate: { subjectCN: proxy.salesforce.test }');
    expect(await postTls(ingress, 'signed')).toMatchObject({ status: 200, stored: 1 });
    // Same CN, self-signed: anyone can make one.
    expect(await postTls(ingress, 'impostor')).toMatchObject({ status: 500, stored: 0 });
  });

  it('behind a TLS-terminating proxy, believes the certificate header only from a trusted proxy', async () => {
    const rule = `      clientCertificate: { sha256Fingerprints: ["${fingerprint}"] }`;
    const ingress = await startIngress({
      configYaml: configYaml(rule, 'ingress: { trustProxy: [127.0.0.1/32], clientCertificateHeader: X-Client-Cert }'),
    });
    started.push(ingress);
    expect(await postFrom(ingress, { 'x-client-cert': fingerprint })).toMatchObject({ status: 200, stored: 1 });
    // nginx $ssl_client_escaped_cert: the URL-encoded PEM.
    expect(await postFrom(ingress, { 'x-client-cert': encodeURIComponent(readFileSync(file('org.crt'), 'utf8')) })).toMatchObject({
      status: 200,
      stored: 1,
    });
    expect(
      await postFrom(ingress, { 'x-client-cert': new X509Certificate(readFileSync(file('impostor.crt'))).fingerprint256 }),
    ).toMatchObject({ status: 500, stored: 0 });
    expect(await postFrom(ingress)).toMatchObject({ status: 500, stored: 0 });

    const untrusted = await startIngress({
      configYaml: configYaml(rule, 'ingress: { trustProxy: [10.0.0.0/8], clientCertificateHeader: X-Client-Cert }'),
    });
    started.push(untrusted);
    expect(await postFrom(untrusted, { 'x-client-cert': fingerprint })).toMatchObject({ status: 500, stored: 0 });
  });
});
