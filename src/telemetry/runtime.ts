// The worker process's Temporal runtime: its log lines in the chosen format and, with a metrics port, a Prometheus
// endpoint serving the SDK's own metrics and sdw-etl's (src/telemetry/metrics.ts).
import { Runtime } from '@temporalio/worker';
import type { TelemetryConfig } from '../config';
import { createLogger } from './logging';
import { histogramBuckets } from './metrics';

/**
 * Installs the runtime once, before the worker is created. Metrics listen on every interface, as Prometheus
 * scrapes from elsewhere: `/metrics` carries no customer data, only counts, durations and run ids.
 */
export function installWorkerRuntime(config: TelemetryConfig): void {
  Runtime.install({
    logger: createLogger(config.logFormat),
    telemetryOptions:
      config.metricsPort === undefined
        ? undefined
        : {
            metrics: {
              prometheus: {
                bindAddress: `0.0.0.0:${config.metricsPort}`,
                // Prometheus's conventions: counters end in _total, durations are in seconds named so.
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
                histogramBucketOverrides: histogramBuckets,
              },
            },
          },
  });
}
