import { Registry, collectDefaultMetrics } from 'prom-client';

/** A Prometheus registry per service (no global default registry, so tests can run several services). */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'pullwatch_' });
  return registry;
}
