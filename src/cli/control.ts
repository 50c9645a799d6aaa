// Commands on a run that exists: status, pause, resume, cancel, retry-failed.
import path from 'node:path';
import type { Command } from 'commander';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import { newRunId, runHandle, runOptionsOf, runUrl } from '../client';
import { runIdProblem, validRunId } from '../run-id';
import { printable, reportPathFor } from '../report';
import { rebuildReport } from '../report-from-history';
import { pauseSignal, progressQuery, resumeSignal, searchAttributes, type Progress } from '../workflows/api';
import { llmBatchQuery, type LlmBatchView } from '../workflows/llm-batch-api';
import { action, UsageError, withClient } from './context';
import { jsonOption, printJson } from './json';
import { followAndSummarize, rootCause, startOrRefuse } from './run';
import { refuseExistingRun, retryInput } from './stored-input';

/** The run's status as Temporal knows it; a run id that names no run is one clear sentence. */
async function statusOf(client: Client, runId: string): Promise<string> {
  try {
    return (await runHandle(client, runId).describe()).status.name;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new UsageError(`No run with id ${runId} exists.`);
    throw err;
  }
}

/** Refuses, in one sentence, a command that needs a running run. */
async function requireRunning(client: Client, runId: string): Promise<void> {
  if ((await statusOf(client, runId)) !== 'RUNNING') throw new UsageError(`Run ${runId} is not running.`);
}

function printProgress(p: Progress): void {
  const c = p.counts;
  const done = c.loaded + c.skipped + c.failed;
  const seconds = Math.max(0.001, (Date.now() - Date.parse(p.startedAt)) / 1000);
  console.log(`Run ${printable(p.runId)}: ${p.state}${p.retryOf ? ` (retrying run ${printable(p.retryOf)})` : ''}`);
  console.log(`  started     ${p.startedAt} (${seconds.toFixed(0)} s ago)`);
  console.log(
    `  done        ${done} (${c.loaded} loaded, ${c.skipped} skipped, ${c.failed} failed), ${(done / seconds).toFixed(2)} customers/s`,
  );
  console.log(
    `  in flight   ${p.inFlight}${p.inFlightIds.length ? `: ${p.inFlightIds.slice(0, 20).join(', ')}${p.inFlightIds.length > 20 ? ', …' : ''}` : ''}`,
  );
  console.log(`  rows read   ${c.rows} (${c.invalid} invalid, ${c.duplicates} duplicates)`);
  console.log(`  from mock   ${c.fromMock}, templated ${c.templated}`);
  console.log(`  bank API    ${bankApiLine(p)}`);
}

/** The Batch API batches a batch-mode run waits for (none while it waits for none). */
async function llmBatchesOf(client: Client, p: Progress | null): Promise<LlmBatchView[]> {
  if (!p?.llmBatchWorkflowId) return [];
  // The wait may have just ended: then there is nothing to show.
  return client.workflow
    .getHandle(p.llmBatchWorkflowId)
    .query(llmBatchQuery)
    .catch(() => []);
}

/** One batch's line under a run's status. */
export function llmBatchLine(b: LlmBatchView): string {
  const counts = `${b.completed}/${b.total} done, ${b.failed} failed`;
  const round = b.round > 0 ? `, resubmission ${b.round}` : '';
  const read = b.collected
    ? `; replies kept ${b.collected.accepted}, refused ${b.collected.rejected}, ignored ${b.collected.ignored}`
    : '';
  return `  LLM batch   ${printable(b.batchId)}: ${b.status} since ${b.since} (${counts}${round})${read}`;
}

/** The sentence a failed run ended with: its innermost cause's. */
async function whyFailed(handle: WorkflowHandle): Promise<string> {
  const err: unknown = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  return err instanceof Error ? rootCause(err) : 'unknown';
}

/** The runs retry-failed made of a run, oldest first. */
async function retriesOf(client: Client, runId: string): Promise<string[]> {
  const ids = new Set<string>();
  for await (const run of client.workflow.list({ query: `${searchAttributes.retryOf.name} = '${runId}'` }))
    ids.add(run.workflowId);
  return [...ids].sort();
}

/** How the bank API stands in a run: answering, waited for, or given up on. */
export function bankApiLine(p: Progress): string {
  const { status, since } = p.bankApi;
  if (status === 'up') return 'answering';
  const ago = Math.round((Date.now() - Date.parse(since!)) / 1000);
  const wait = Math.round(p.apiOutageWaitMs / 1000);
  return status === 'down'
    ? `down since ${since} (${ago} s): the run waits for it, up to ${wait} s, before its failure policies apply`
    : `down since ${since} (${ago} s), longer than the run waits (${wait} s): its failure policies apply`;
}

export function registerControl(program: Command): void {
  program
    .command('status')
    .argument('<runId>')
    .description("A run's progress: counts by state, rate, what is in flight.")
    .option('--watch', "follow a running run with the progress bar to its end and summary (run's exit codes)")
    .addOption(jsonOption())
    .action(
      action((runId: string, flags: { watch?: boolean; json?: boolean }) =>
        withClient(async (client, config) => {
          const status = await statusOf(client, runId);
          const handle = runHandle(client, runId);
          if (status === 'RUNNING' && flags.watch) return followAndSummarize(client, handle, config, flags);
          const progress = status === 'RUNNING' ? await handle.query(progressQuery) : null;
          const reportPath = progress ? null : reportPathFor((await runOptionsOf(handle)).output, runId);
          const why = status === 'FAILED' ? await whyFailed(handle) : null;
          const llmBatches = await llmBatchesOf(client, progress);
          const webUiUrl = runUrl(config, runId);
          if (flags.json) {
            printJson({
              runId,
              status: status.toLowerCase(),
              progress,
              ...(llmBatches.length ? { llmBatches } : {}),
              why,
              reportPath,
              webUiUrl,
            });
            return 0;
          }
          if (progress) {
            printProgress(progress);
            for (const batch of llmBatches) console.log(llmBatchLine(batch));
          } else {
            console.log(`Run ${printable(runId)}: ${status.toLowerCase()}`);
            if (why) console.log(`  why         ${printable(why)}`);
            console.log(`Report: ${printable(reportPath!)}`);
          }
          console.log(`Web UI: ${webUiUrl}`);
          return 0;
        }),
      ),
    );

  program
    .command('pause')
    .argument('<runId>')
    .description('Start no new customer until resumed; the customers in flight finish.')
    .action(
      action((runId: string) =>
        withClient(async (client) => {
          await requireRunning(client, runId);
          await runHandle(client, runId).signal(pauseSignal);
          console.log(
            `Run ${runId} paused: no new batch of customers starts; the open batches finish. Resume with sdw-etl resume ${runId}.`,
          );
        }),
      ),
    );

  program
    .command('resume')
    .argument('<runId>')
    .description('Resume a paused run.')
    .action(
      action((runId: string) =>
        withClient(async (client) => {
          await requireRunning(client, runId);
          await runHandle(client, runId).signal(resumeSignal);
          console.log(`Run ${runId} resumed.`);
        }),
      ),
    );

  program
    .command('cancel')
    .argument('<runId>')
    .description('End a run cleanly: the customers in flight finish, what was done is exported and reported.')
    .action(
      action((runId: string) =>
        withClient(async (client) => {
          await requireRunning(client, runId);
          await runHandle(client, runId).cancel();
          console.log(
            `Run ${runId} is being cancelled: the customers in flight finish, then what was done is exported.`,
          );
        }),
      ),
    );

  program
    .command('retry-failed')
    .argument('<runId>')
    .description(
      'A new run, linked to the old one, of the customers that ended failed, skipped, from mock data or not reached.',
    )
    .option('--id <runId>', 'the new run id; generated when not given')
    .option('--detach', 'print the new run id and exit without waiting')
    .option('--again', 'retry a run that was retried before')
    .action(
      action((runId: string, flags: { id?: string; detach?: boolean; again?: boolean }) =>
        withClient(async (client, config) => {
          const status = await statusOf(client, runId);
          if (status === 'RUNNING') {
            throw new UsageError(
              `Run ${runId} is still running: retry its customers once it has ended (or cancel it).`,
            );
          }
          const earlier = await retriesOf(client, runId);
          if (earlier.length > 0 && !flags.again) {
            throw new UsageError(
              `Run ${runId} was already retried by run ${earlier.join(', ')} (sdw-etl report ${earlier[0]}); add --again to retry its customers once more.`,
            );
          }
          const options = await runOptionsOf(runHandle(client, runId));
          const ids = (await rebuildReport(client, runId, config)).customers
            .filter((c) => (c.status !== 'loaded' && c.status !== 'already_loaded') || c.source === 'mock')
            .map((c) => c.id);
          if (ids.length === 0) {
            console.log(`Every customer of run ${runId} ended loaded from real data: nothing to retry.`);
            return 0;
          }
          const retryId = flags.id ?? newRunId();
          if (!validRunId(retryId)) throw new UsageError(runIdProblem(retryId));
          const folder = path.dirname(options.output);
          await refuseExistingRun(client, retryId);
          // Without a shared store the list goes where workers read lists (SDW_INPUT_DIRS' first folder).
          const input = await retryInput(
            config,
            retryId,
            ids,
            path.join(config.folders.inputDirs[0]!, `${retryId}.retry.csv`),
          );
          // The retry exports beside the first run, never over its export.
          const output = path.join(folder, `${retryId}.${path.basename(options.output)}`);
          const handle = await startOrRefuse(
            client,
            config,
            retryId,
            { ...options, ...input, output, retryOf: runId },
            flags.detach,
          );
          console.log(`Run ${retryId} retries ${ids.length} customer${ids.length === 1 ? '' : 's'} of run ${runId}.`);
          if (flags.detach) {
            console.log(retryId);
            return 0;
          }
          return followAndSummarize(client, handle, config);
        }),
      ),
    );
}
