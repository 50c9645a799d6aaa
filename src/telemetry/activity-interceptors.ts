// What the worker sees of every activity, local ones included: each step's duration and result, the outcomes
// saved, the rows read, and the customer id on each step's log lines and span.
import { trace } from '@opentelemetry/api';
import type { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type {
  ActivityExecuteInput,
  ActivityInboundCallsInterceptor,
  ActivityInterceptors,
  ActivityOutboundCallsInterceptor,
  GetLogAttributesInput,
  Next,
} from '@temporalio/worker';
import type { UserIdPage } from '../activities/extract';
import type { CustomerRecord, RecordStore } from '../activities/store/store';
import { stepOfActivity, type WorkerMetrics } from './metrics';
import { runIdOf } from '../run-id';

/** What an activity's arguments say about where it belongs; never customer data beyond the id. */
interface Whereabouts {
  runId?: string;
  customerId?: number;
  /** The step's span (when tracing), kept for the lines the SDK logs once the step has returned ("Activity failed"). */
  traceId?: string;
  spanId?: string;
}

function whereaboutsOf(ctx: Context, args: unknown[]): Whereabouts {
  const arg = (args[0] ?? {}) as { id?: unknown; runId?: unknown };
  return {
    runId: typeof arg.runId === 'string' ? arg.runId : runIdOf(ctx.info.workflowExecution?.workflowId ?? ''),
    customerId: typeof arg.id === 'number' ? arg.id : undefined,
  };
}

const recordsOf = (args: unknown[]): CustomerRecord[] => (args[0] as { records: CustomerRecord[] }).records;

/** `ok`, or the failure's type: a short, fixed list (src/failures.ts), so a safe label. */
const resultOf = (err: unknown): string =>
  err instanceof ApplicationFailure && err.type ? err.type : err instanceof Error ? err.name : 'error';

/**
 * The customers of a batch about to be saved that the store does not hold yet for the run. A batch's save runs again
 * when it is retried, and when its workflow task is lost after the save (a worker that dies, or one so starved of
 * CPU that the task times out): the store, which every worker shares, says who was counted already.
 */
async function notYetSaved(store: RecordStore, runId: string, records: CustomerRecord[]): Promise<CustomerRecord[]> {
  const saved = await store.readRecords(
    runId,
    records.map((r) => r.outcome.id),
  );
  return records.filter((r) => !saved.has(r.outcome.id));
}

/** The activity interceptors of sdw-etl's worker, given its metric instruments and its record store. */
export function sdwActivityInterceptors(
  metrics: WorkerMetrics,
  store: RecordStore,
): (ctx: Context) => ActivityInterceptors {
  return (ctx) => {
    let where: Whereabouts = {};
    const inbound: ActivityInboundCallsInterceptor = {
      async execute(input: ActivityExecuteInput, next: Next<ActivityInboundCallsInterceptor, 'execute'>) {
        where = whereaboutsOf(ctx, input.args);
        const { activityType } = ctx.info;
        const span = trace.getActiveSpan();
        if (span) {
          if (where.customerId !== undefined) span.setAttribute('sdw.customer_id', where.customerId);
          ({ traceId: where.traceId, spanId: where.spanId } = span.spanContext());
        }
        const step = stepOfActivity[activityType];
        const started = performance.now();
        let result = 'ok';
        const records = activityType === 'recordOutcomes' && where.runId ? recordsOf(input.args) : undefined;
        const uncounted = records && (await notYetSaved(store, where.runId!, records));
        try {
          const output = await next(input);
          // Counted once saved, and only the customers no earlier save of this batch had saved.
          if (uncounted) metrics.savedOutcomes(where.runId!, uncounted);
          if (activityType === 'readUserIds' && where.runId) {
            const page = output as UserIdPage;
            metrics.rowsRead(where.runId, page.ids.length + page.invalid.length);
          }
          return output;
        } catch (err) {
          result = resultOf(err);
          throw err;
        } finally {
          if (step) metrics.stepAttempt(step, (performance.now() - started) / 1000, result);
        }
      },
    };
    const outbound: ActivityOutboundCallsInterceptor = {
      getLogAttributes(input: GetLogAttributesInput, next: Next<ActivityOutboundCallsInterceptor, 'getLogAttributes'>) {
        const { customerId, traceId, spanId } = where;
        return next({
          ...(customerId !== undefined ? { customerId } : {}),
          ...(traceId ? { trace_id: traceId, span_id: spanId } : {}),
          ...input,
        });
      },
    };
    return { inbound, outbound };
  };
}
