import client from 'prom-client';

export { client as prom };

/** One registry per process, with Node's default metrics and the service label on everything. */
export function createMetricsRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}
