import { metricsIn } from '@broker/runtime';
import type { Registry } from 'prom-client';

export function createIngressMetrics(registry: Registry) {
  const { counter, histogram } = metricsIn(registry);
  return {
    notifications: counter(
      'broker_outbound_notifications_total',
      ['connection', 'object'],
      'Outbound Message notifications stored and acknowledged',
    ),
    rejected: counter(
      'broker_ingress_rejected_total',
      ['endpoint', 'reason'],
      'Requests answered with a fault or an error status, by endpoint and reason',
    ),
    webhooks: counter('broker_fn_webhooks_total', ['connection', 'event'], 'Field Nation webhook deliveries stored'),
    storeSeconds: histogram(
      'broker_ingress_store_seconds',
      ['endpoint'],
      [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5],
      'Time to store the jobs of one request in Redis (the part before the Ack)',
    ),
    captured: counter('broker_ingress_captured_total', ['kind'], 'Deliveries written by the payload capture (CAPTURE_DIR), redacted'),
    captureDropped: counter(
      'broker_ingress_capture_dropped_total',
      ['reason'],
      'Deliveries the payload capture did not write: limit, too-large, queue-full, unredactable, write-error',
    ),
  };
}

export type IngressMetrics = ReturnType<typeof createIngressMetrics>;
