// The worker's log lines: the SDK's text lines by default, or with SDW_LOG_FORMAT=json one JSON object a line, with
// the run, batch, customer, step, attempt and trace each line belongs to, for a log pipeline to index.
import { DefaultLogger, type LogEntry, type Logger, type LogLevel } from '@temporalio/worker';
import { runIdOf } from '../run-id';
import { stepOfActivity } from './metrics';

export const logFormats = ['text', 'json'] as const;
export type LogFormat = (typeof logFormats)[number];

/** Left out of a JSON line: an activity's task token is an opaque blob, useless to a reader. */
const dropped = new Set(['taskToken', 'trace_flags']);

/** One JSON object for a log entry; what the SDK adds (workflow and activity info, trace ids) becomes its fields. */
export function jsonLine(entry: LogEntry): string {
  const meta: Record<string, unknown> = { ...entry.meta };
  const workflowId = typeof meta.workflowId === 'string' ? meta.workflowId : undefined;
  const activityType = typeof meta.activityType === 'string' ? meta.activityType : undefined;
  const batch = workflowId?.includes('/') ? workflowId.slice(workflowId.indexOf('/') + 1) : undefined;
  const line: Record<string, unknown> = {
    time: new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString(),
    level: entry.level,
    message: entry.message,
    runId: workflowId && runIdOf(workflowId),
    batch,
    customerId: meta.customerId,
    step: (activityType && stepOfActivity[activityType]) ?? meta.step,
    attempt: meta.attempt,
    traceId: meta.trace_id,
    spanId: meta.span_id,
  };
  for (const key of ['customerId', 'attempt', 'trace_id', 'span_id']) delete meta[key];
  for (const [key, value] of Object.entries(meta)) if (!dropped.has(key) && !(key in line)) line[key] = value;
  return JSON.stringify(line, (_key, value: unknown) =>
    value instanceof Error ? { name: value.name, message: value.message } : value,
  );
}

/** The SDK's logger in the chosen format, to stderr, from `level` up. */
export function createLogger(format: LogFormat, level: LogLevel = 'INFO'): Logger {
  if (format === 'text') return new DefaultLogger(level);
  return new DefaultLogger(level, (entry) => void process.stderr.write(`${jsonLine(entry)}\n`));
}
