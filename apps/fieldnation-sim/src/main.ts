import { createLogger } from '@broker/runtime';
import { startFieldNationSim } from './fieldnation-sim';

const logger = createLogger({ service: 'fieldnation-sim' });
const env = process.env;
const number = (name: string): number | undefined => (env[name] ? Number(env[name]) : undefined);

const sim = await startFieldNationSim({
  port: number('PORT') ?? 3300,
  host: env.HOST ?? '127.0.0.1',
  timeFactor: number('FN_SIM_TIME_FACTOR'),
  tokenTtlSeconds: number('FN_SIM_TOKEN_TTL_SECONDS'),
  rateLimit: env.FN_SIM_RATE_LIMIT === 'off' ? false : { perMinute: number('FN_SIM_RATE_PER_MINUTE'), burst: number('FN_SIM_RATE_BURST') },
  credentials: {
    clientId: env.FN_SIM_CLIENT_ID,
    clientSecret: env.FN_SIM_CLIENT_SECRET,
    username: env.FN_SIM_USERNAME,
    password: env.FN_SIM_PASSWORD,
  },
  contractValidation: env.FN_SIM_CONTRACT_VALIDATION === 'on',
  webhooks: env.FN_SIM_WEBHOOK_ALLOW_HTTP === 'any' ? { allowHttp: 'any' } : undefined,
  logger,
});

const shutdown = async (signal: string) => {
  logger.info({ signal }, 'shutting down');
  await sim.close();
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
