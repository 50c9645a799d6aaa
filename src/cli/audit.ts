// Commands that answer questions about past runs from Temporal itself: which runs, and one customer's story.
import type { Command } from 'commander';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { runHandle, runUrl } from '../client';
import { estimateCostUsd } from '../pricing';
import { customerWorkflowId, progressQuery, type Counts, type CustomerOutcome } from '../shared';
import { withClient } from './control';
import { action, UsageError } from './errors';
import { positiveInt } from './options';

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

export function registerAudit(program: Command): void {
  program
    .command('runs')
    .description('List runs from Temporal: id, start, end, state and counts.')
    .option('--status <status>', `only runs in this state (${Object.keys(statuses).join(', ')})`)
    .option('--since <when>', 'only runs started since a date (2026-11-01) or an age (24h, 7d)')
    .option('--limit <n>', 'at most this many runs, newest first', positiveInt(1000), 20)
    .action(
      action((flags: { status?: string; since?: string; limit: number }) =>
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
          console.log(
            'run id                               end                       state       loaded skipped failed',
          );
          let listed = 0;
          for await (const run of client.workflow.list({ query: clauses.join(' AND ') })) {
            if (listed++ >= flags.limit) break;
            const counts = await countsOf(client, run.workflowId, run.status.name);
            const cells = counts
              ? [counts.loaded, counts.skipped, counts.failed].map((n) => String(n).padStart(6))
              : ['     -', '     -', '     -'];
            console.log(
              `${run.workflowId.padEnd(36)} ${(run.closeTime?.toISOString() ?? '-').padEnd(25)} ${run.status.name.toLowerCase().padEnd(10)} ${cells.join(' ')}`,
            );
          }
          if (listed === 0) console.log('(no runs)');
        }),
      ),
    );

  program
    .command('customer')
    .argument('<runId>')
    .argument('<customerId>')
    .description("One customer's story in a run: each step's attempts, fallbacks, message, model, tokens and cost.")
    .action(
      action((runId: string, customerId: string) =>
        withClient(async (client, config) => {
          const id = Number(customerId);
          if (!/^\d+$/.test(customerId) || id < 1)
            throw new UsageError(`The customer id must be a positive whole number, got "${customerId}".`);
          const handle = client.workflow.getHandle(customerWorkflowId(runId, id));
          let outcome: CustomerOutcome;
          try {
            outcome = (await handle.result()) as CustomerOutcome;
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) throw new UsageError(`Run ${runId} has no customer ${id}.`);
            throw err;
          }
          const tokens = outcome.tokens.promptTokens + outcome.tokens.completionTokens;
          const cost = estimateCostUsd(outcome.model, outcome.tokens.promptTokens, outcome.tokens.completionTokens);
          console.log(`Customer ${id} in run ${runId}: ${outcome.status} (CSV line ${outcome.line})`);
          console.log(
            `  data      ${outcome.source ?? '-'}${outcome.source === 'mock' ? ' (the API did not answer; mock record)' : ''}`,
          );
          console.log(`  message   ${outcome.message ?? '-'} [${outcome.messageSource ?? '-'}]`);
          console.log(`  model     ${outcome.model ?? '-'}, ${tokens} tokens, estimated US$ ${cost.toFixed(6)}`);
          console.log(
            `  attempts  fetch ${outcome.attempts.fetch}, write ${outcome.attempts.write}, load ${outcome.attempts.load}`,
          );
          if (outcome.error) console.log(`  reason    ${outcome.error.reason}: ${outcome.error.message}`);
          console.log(`Web UI: ${runUrl(config, customerWorkflowId(runId, id))}`);
          return outcome.status === 'loaded' ? 0 : 2;
        }),
      ),
    );
}
