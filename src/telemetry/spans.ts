// Spans of sdw-etl's own: the HTTP calls to the bank API and the LLM, children of the step that makes them.
// Only the OpenTelemetry API: without tracing (src/telemetry/tracing.ts) they cost next to nothing.
import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { ApplicationFailure } from '@temporalio/common';

const tracer = trace.getTracer('sdw-etl');

/**
 * An outgoing HTTP call as a client span (a no-op without tracing). Attributes name the call, never what it carries;
 * a failure is marked with its type only, since its message may quote the answer.
 */
export async function httpSpan<T>(name: string, attributes: Attributes, call: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
    try {
      return await call();
    } catch (err) {
      const type = err instanceof ApplicationFailure && err.type ? err.type : (err as Error).name;
      span.setAttribute('error.type', type);
      span.setStatus({ code: SpanStatusCode.ERROR, message: type });
      throw err;
    } finally {
      span.end();
    }
  });
}
