// Spans of sdw-etl's own: the steps of a customer's first try, and the HTTP calls to the bank API and the LLM as
// children of the step that makes them (a load's GET sent during the write: of the first tries). Only the
// OpenTelemetry API: without tracing (src/telemetry/tracing.ts) they cost nothing.
import { context, SpanKind, SpanStatusCode, trace, type Context, type SpanOptions } from '@opentelemetry/api';
import { ApplicationFailure } from '@temporalio/common';

const tracer = trace.getTracer('sdw-etl');
/** Set once tracing starts; until then a span is not even a no-op object (a customer makes seven). */
let recording = false;

/** Called by startTracing once the tracer provider is registered. */
export function recordSpans(): void {
  recording = true;
}

/**
 * Runs `work` in an active span (just runs it without tracing). Attributes name the work, never what it carries; a
 * failure is marked with its type only, since its message may quote an answer.
 */
function traced<T>(name: string, options: SpanOptions, work: () => Promise<T>): Promise<T> {
  if (!recording) return work();
  return tracer.startActiveSpan(name, options, async (span) => {
    try {
      return await work();
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

/** An outgoing HTTP call as a client span. */
export function httpSpan<T>(name: string, attributes: SpanOptions['attributes'], call: () => Promise<T>): Promise<T> {
  return traced(name, { kind: SpanKind.CLIENT, attributes }, call);
}

/** A step of a customer's first try (`RunStep:fetch`, `write`, `load`), with the customer id as its only data. */
export function stepSpan<T>(step: string, customerId: number, work: () => Promise<T>): Promise<T> {
  return traced(`RunStep:${step}`, { attributes: { 'sdw.customer_id': customerId } }, work);
}

/** The active tracing context, kept for work started later that belongs beside the span active then, not in it. */
export const activeContext = (): Context => context.active();

/** Runs `work` with `active` (from activeContext) as its tracing context. */
export const withinContext = <T>(active: Context, work: () => T): T => context.with(active, work);
