import client from 'prom-client';

export { client as prom };

/** One registry per process, with Node's default metrics and the service label on everything. */
export function createMetricsRegistry(service: string): client.Registry {
  const registry = new client.Registry();
  registry.setDefaultLabels({ service });
  client.collectDefaultMetrics({ register: registry });
  return registry;
}

/**
 * Metric constructors bound to one registry (never prom-client's global default, which would mix the
 * metrics of apps sharing a process in tests): name, labels and help read as one line per metric.
 */
export function metricsIn(registry: client.Registry) {
  const registers = [registry];
  return {
    counter: <L extends string>(
      name: string,
      labelNames: readonly L[],
      help: string,
      collect?: client.CollectFunction<client.Counter<L>>,
    ) => new client.Counter<L>({ name, help, labelNames, registers, collect }),
    gauge: <L extends string>(name: string, labelNames: readonly L[], help: string, collect?: client.CollectFunction<client.Gauge<L>>) =>
      new client.Gauge<L>({ name, help, labelNames, registers, collect }),
    histogram: <L extends string>(name: string, labelNames: readonly L[], buckets: number[], help: string) =>
      new client.Histogram<L>({ name, help, labelNames, buckets, registers }),
  };
}
