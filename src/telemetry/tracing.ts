// Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, the client, workflows and activities (through Temporal's
// OpenTelemetry interceptors) and the HTTP calls to the bank and the LLM send spans over OTLP/HTTP.
import type * as contextAsyncHooks from '@opentelemetry/context-async-hooks';
import type * as otlpHttp from '@opentelemetry/exporter-trace-otlp-http';
import type * as resources from '@opentelemetry/resources';
import type * as traceBase from '@opentelemetry/sdk-trace-base';
import type * as temporalOtel from '@temporalio/interceptors-opentelemetry';
import type { ActivityInterceptorsFactory, WorkerOptions } from '@temporalio/worker';
import type { TelemetryConfig } from '../config';
import { recordSpans } from './spans';

export interface Tracing {
  /** For a worker: a span for each activity (local ones too), its trace id on the activity's log lines. */
  activityInterceptors: ActivityInterceptorsFactory;
  /** For a worker: spans for each workflow and what it schedules, sent out through the `exporter` sink. */
  workflowModules: string[];
  sinks: NonNullable<WorkerOptions['sinks']>;
  /** For a client: a span for each workflow started, signalled or queried, its context passed on in headers. */
  clientInterceptor: temporalOtel.OpenTelemetryWorkflowClientInterceptor;
}

let tracing: Tracing | undefined;
let provider: traceBase.BasicTracerProvider | undefined;

/**
 * Starts this process's tracing once (undefined without an OTLP endpoint). The exporter reads the OTEL_* variables
 * itself, as every OpenTelemetry exporter does; the service is OTEL_SERVICE_NAME, else sdw-etl.
 */
export function startTracing(config: TelemetryConfig): Tracing | undefined {
  if (!config.otlpEndpoint) return undefined;
  if (tracing) return tracing;
  // Loaded only when tracing is on: a process without it starts 100 ms sooner.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks') as typeof contextAsyncHooks;
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof otlpHttp;
  const { Resource } = require('@opentelemetry/resources') as typeof resources;
  const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base') as typeof traceBase;
  const {
    makeWorkflowExporter,
    OpenTelemetryActivityInboundInterceptor,
    OpenTelemetryActivityOutboundInterceptor,
    OpenTelemetryWorkflowClientInterceptor,
  } = require('@temporalio/interceptors-opentelemetry') as typeof temporalOtel;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const resource = new Resource({ 'service.name': process.env.OTEL_SERVICE_NAME ?? 'sdw-etl' });
  const spanProcessor = new BatchSpanProcessor(new OTLPTraceExporter());
  provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  recordSpans();
  tracing = {
    activityInterceptors: (ctx) => ({
      inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
      outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
    }),
    workflowModules: [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')],
    sinks: { exporter: makeWorkflowExporter(spanProcessor, resource) },
    clientInterceptor: new OpenTelemetryWorkflowClientInterceptor(),
  };
  return tracing;
}

/** The tracing started in this process, if any. */
export const currentTracing = (): Tracing | undefined => tracing;

/** Sends the spans still buffered; call before the process exits. */
export async function stopTracing(): Promise<void> {
  await provider?.shutdown();
  provider = undefined;
  tracing = undefined;
}
