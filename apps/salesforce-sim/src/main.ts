import { readFileSync } from 'node:fs';
import { createLogger } from '@broker/runtime';
import { startSalesforceSim } from './salesforce-sim';

const env = process.env;
const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));

const logger = createLogger({ service: 'salesforce-sim' });
const sim = await startSalesforceSim({
  port: num(env.PORT) ?? 3200,
  host: env.HOST ?? '127.0.0.1',
  orgFile: env.SF_SIM_ORG_FILE || undefined,
  timeFactor: num(env.SF_SIM_TIME_FACTOR),
  sessionTtlMs: num(env.SF_SIM_SESSION_TTL_MS),
  queryPageSize: num(env.SF_SIM_QUERY_PAGE_SIZE),
  outboundUrl: env.SF_SIM_OUTBOUND_URL,
  outboundRetryBaseMs: num(env.SF_SIM_OUTBOUND_RETRY_BASE_MS),
  publicUrl: env.SF_SIM_PUBLIC_URL || undefined,
  connectedApp: env.SF_SIM_JWT_CERT_FILE ? { certificate: readFileSync(env.SF_SIM_JWT_CERT_FILE, 'utf8') } : undefined,
  logger,
});
logger.info({ url: sim.url, org: sim.ctx.orgId }, 'Salesforce simulator listening');

let closing = false;
const shutdown = (signal: string) => {
  if (closing) return;
  closing = true;
  logger.info({ signal }, 'shutting down');
  const deadline = setTimeout(() => process.exit(1), 5000);
  deadline.unref();
  void sim.close().then(() => process.exit(0));
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
