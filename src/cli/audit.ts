// Commands that answer questions about past runs from Temporal itself: which runs, a run's report, one customer's story.
import path from 'node:path';
import { once } from 'node:events';
import type { Command } from 'commander';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { runHandle, runUrl } from '../client';
import { validRunId } from '../run-id';
import { canWriteIn, writeAtomically, type Put } from '../files';
import type { Counts } from '../outcomes';
import { estimateCostUsd } from '../pricing';
import { htmlReport, printable, reportAsTable, type RunReport } from '../report';
import { customerOutcome, rebuildReport } from '../report-from-history';
import { progressQuery } from '../workflows/api';
import { action, positiveInt, UsageError, withClient } from './context';
import { jsonOption, printJson } from './json';

const statuses: Record<string, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  canceled: 'Canceled',
  terminated: 'Terminated',
  'timed-out': 'TimedOut',
};

/** `--since` as a date (2026-11-01) or an age (90m, 24h, 7d). */
function sinceDate(value: string, now = Date.now()): Date {
  const age = /^(\d+)([mhd])$/.exec(value.trim());
  if (age)
    return new Date(now - Number(age[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[age[2] as 'm' | 'h' | 'd']);
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new UsageError(`--since takes a date (2026-11-01) or an age (90m, 24h, 7d), got "${value}".`);
  return date;
}

async function countsOf(client: Client, runId: string, status: string): Promise<Counts | undefined> {
  try {
    if (status === 'RUNNING') return (await runHandle(client, runId).query(progressQuery)).counts;
    if (status === 'COMPLETED') return (await runHandle(client, runId).result()).counts;
  } catch {
    // A run whose worker is gone cannot answer a query; its counts are left blank.
  }
  return undefined;
}

const reportFormats = ['table', 'json', 'html'] as const;
type ReportFormat = (typeof reportFormats)[number];

/** Writes the report in a format; JSON a customer at a time, so a million customers never make one string. */
async function putReport(report: RunReport, format: ReportFormat, put: Put): Promise<void> {
  if (format === 'html') return put(await htmlReport(report));
  if (format === 'table') return put(reportAsTable(report));
  const { customers, ...head } = report;
  await put(`${JSON.stringify(head, null, 2).replace(/\n}$/, '')},\n  "customers": [`);
  for (const [i, customer] of customers.entries()) await put(`${i === 0 ? '' : ','}\n    ${JSON.stringify(customer)}`);
  await put('\n  ]\n}\n');
}

/** Standard output as a Put: waits while its buffer is full. */
const putStdout: Put = async (chunk) => {
  if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
};

export function registerAudit(program: Command): void {
  program
    .command('runs')
    .description('List runs from Temporal: id, start, end, state and counts.')
    .option('--status <status>', `only runs in this state (${Object.keys(statuses).join(', ')})`)
    .option('--since <when>', 'only runs started since a date (2026-11-01) or an age (24h, 7d)')
    .option('--limit <n>', 'at most this many runs, newest first', positiveInt(1000), 20)
    .addOption(jsonOption())
    .action(
      action((flags: { status?: string; since?: string; limit: number; json?: boolean }) =>
        withClient(async (client) => {
          // Runs of a continue-as-new chain share the id; the closed ones before the last are left out.
          const clauses = [`WorkflowType = 'etlRun'`, `ExecutionStatus != 'ContinuedAsNew'`];
          if (flags.status !== undefined) {
            const status = statuses[flags.status.toLowerCase()];
            if (!status)
              throw new UsageError(`--status takes one of ${Object.keys(statuses).join(', ')}, got "${flags.status}".`);
            clauses.push(`ExecutionStatus = '${status}'`);
          }
          if (flags.since !== undefined) clauses.push(`StartTime > '${sinceDate(flags.since).toISOString()}'`);
          const runs: object[] = [];
          if (!flags.json)
            console.log(
              'run id                               end                       state       loaded skipped failed',
            );
          let listed = 0;
          for await (const run of client.workflow.list({ query: clauses.join(' AND ') })) {
            if (listed++ >= flags.limit) break;
            const counts = await countsOf(client, run.workflowId, run.status.name);
            if (flags.json) {
              const { workflowId: runId, startTime: startedAt, closeTime: endedAt } = run;
              runs.push({ runId, status: run.status.name.toLowerCase(), startedAt, endedAt, counts });
              continue;
            }
            const cells = counts
              ? [counts.loaded, counts.skipped, counts.failed].map((n) => String(n).padStart(6))
              : ['     -', '     -', '     -'];
            console.log(
              `${printable(run.workflowId).padEnd(36)} ${(run.closeTime?.toISOString() ?? '-').padEnd(25)} ${run.status.name.toLowerCase().padEnd(10)} ${cells.join(' ')}`,
            );
          }
          if (flags.json) printJson({ runs });
          else if (listed === 0) console.log('(no runs)');
        }),
      ),
    );

  program
    .command('report')
    .argument('<runId>')
    .description("A run's report rebuilt from Temporal's history, even when the report file is gone.")
    .option('--format <format>', `${reportFormats.join(', ')}`, 'table')
    .option('--out <file>', 'write the report to this file instead of standard output')
    .action(
      action((runId: string, flags: { format: string; out?: string }) =>
        withClient(async (client, config) => {
          const format = reportFormats.find((f) => f === flags.format);
          if (!format)
            throw new UsageError(`--format takes one of ${reportFormats.join(', ')}, got "${flags.format}".`);
          if (!validRunId(runId)) throw new UsageError(`"${runId}" is not a run id.`);
          if (flags.out !== undefined && !(await canWriteIn(path.dirname(path.resolve(flags.out)))))
            throw new UsageError(`The folder of ${flags.out} does not exist or is not writable.`);
          let report: RunReport;
          try {
            report = await rebuildReport(client, runId, config);
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) throw new UsageError(`No run with id ${runId} exists.`);
            throw err;
          }
          if (flags.out === undefined) await putReport(report, format, putStdout);
          else {
            // An interrupted command never leaves half a report.
            await writeAtomically(flags.out, (put) => putReport(report, format, put));
            console.log(
              `Report of run ${runId} (${report.customers.length} customers) written to ${printable(flags.out)}`,
            );
          }
        }),
      ),
    );

  program
    .command('customer')
    .argument('<runId>')
    .argument('<customerId>')
    .description("One customer's story in a run: each step's attempts, fallbacks, message, model, tokens and cost.")
    .addOption(jsonOption())
    .action(
      action((runId: string, customerId: string, flags: { json?: boolean }) =>
        withClient(async (client, config) => {
          const id = Number(customerId);
          if (!/^\d+$/.test(customerId) || id < 1)
            throw new UsageError(`The customer id must be a positive whole number, got "${customerId}".`);
          if (!validRunId(runId)) throw new UsageError(`"${runId}" is not a run id.`);
          const found = await customerOutcome(client, runId, id);
          if (!found) throw new UsageError(`Run ${runId} has no customer ${id}.`);
          const { outcome, workflowId } = found;
          const tokens = outcome.tokens.promptTokens + outcome.tokens.completionTokens;
          const cost = estimateCostUsd(
            outcome.model,
            outcome.tokens.promptTokens,
            outcome.tokens.completionTokens,
            outcome.tokens.pricing,
          );
          const exitCode = outcome.status === 'loaded' ? 0 : 2;
          if (flags.json) {
            const webUiUrl = runUrl(config, workflowId);
            printJson({ runId, customerId: id, workflowId, outcome, estimatedCostUsd: cost, webUiUrl, exitCode });
            return exitCode;
          }
          console.log(`Customer ${id} in run ${runId}: ${outcome.status} (CSV line ${outcome.line})`);
          console.log(
            `  data      ${outcome.source ?? '-'}${outcome.source === 'mock' ? ' (the API did not answer; mock record)' : ''}`,
          );
          console.log(`  message   ${printable(outcome.message ?? '-')} [${outcome.messageSource ?? '-'}]`);
          console.log(
            `  model     ${printable(outcome.model ?? '-')}, ${tokens} tokens, estimated US$ ${cost.toFixed(6)}`,
          );
          for (const step of ['fetch', 'write', 'load'] as const) {
            const attempts = outcome.attempts[step];
            const took = `, ${outcome.durationsMs[step]} ms`;
            const error = outcome.stepErrors[step];
            console.log(
              `  ${step.padEnd(9)} ${attempts === 0 ? 'not run' : `${attempts} attempt${attempts === 1 ? '' : 's'}${took}`}${error ? `, ended ${error.reason}: ${printable(error.message)}` : ''}`,
            );
          }
          if (outcome.error) console.log(`  reason    ${outcome.error.reason}: ${printable(outcome.error.message)}`);
          console.log(`Web UI: ${runUrl(config, workflowId)}`);
          return exitCode;
        }),
      ),
    );
}
