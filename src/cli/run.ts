// sdw-etl run: a run's options checked before anything starts, the run started and followed, and its summary.
import { existsSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  CancelledFailure,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { readCsvRows } from '../activities/extract';
import { connectClient, followRun, newRunId, runOptionsOf, runUrl, startRun } from '../client';
import { campaignOf, campaignProblem, validCampaign } from '../campaign';
import { runIdProblem, validRunId } from '../run-id';
import { ConfigError, parseUrl, type Config } from '../config';
import { canWriteIn, isEarlierExport } from '../files';
import { inputProblem, outputProblem } from '../paths';
import { printable, reportPathFor, type ReportedCustomer } from '../report';
import { rebuildReport } from '../report-from-history';
import { checkNamespace, noWorkerMessage, workerPolls } from '../temporal-checks';
import type { etlRun } from '../workflows';
import { defaultRunOptions, type RunOptions, type RunSummary } from '../workflows/api';
import { plural, UsageError } from './context';
import { withStoredInput } from './stored-input';
import { printJson, sayFor } from './json';
import { countDataRows, progressDisplay, progressModeFor } from './progress';

export interface RunFlags {
  input: string;
  output?: string;
  apiUrl?: string;
  concurrency: number;
  batchSize: number;
  onApiFailure: RunOptions['onApiFailure'];
  onLlmFailure: RunOptions['onLlmFailure'];
  llmMode?: RunOptions['llmMode'];
  sink: RunOptions['sink'];
  locale?: RunOptions['locale'];
  pageSize: number;
  apiOutageWaitMs: number;
  campaign?: string;
  id?: string;
  detach?: boolean;
  /** Replace an --output file that is not an earlier sdw-etl export. */
  force?: boolean;
  /** Only the summary: no progress. */
  quiet?: boolean;
  /** One JSON document on standard output (docs/operations.md); lines for people go to standard error. */
  json?: boolean;
}

/** How a command that follows a run shows it: progress, summary, or one JSON document. */
export type FollowFlags = Pick<RunFlags, 'quiet' | 'json'>;

/**
 * Refuses, before any run starts, a CSV whose header, encoding or rows cannot make a run: it reads until the first
 * row that names a customer (the first few rows, for any list worth running).
 */
async function checkInput(input: string, named: string): Promise<void> {
  let rows = 0;
  try {
    for await (const row of readCsvRows(input)) {
      if (!('invalid' in row)) return;
      rows += 1;
    }
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  throw new UsageError(
    `The input file ${named} names no customer: ${rows === 0 ? 'it has a header and no rows' : `none of its ${plural(rows, 'row')} is a customer id`}.`,
  );
}

/** Turns flags into a run's options: absolute paths the worker can open, checked before anything starts. */
export async function runOptions(flags: RunFlags, config: Config): Promise<RunOptions> {
  const input = path.resolve(flags.input);
  if (!existsSync(input)) throw new UsageError(`The input file ${flags.input} does not exist.`);
  if (statSync(input).isDirectory()) throw new UsageError(`The input ${flags.input} is a folder, not a CSV file.`);
  await checkInput(input, flags.input);
  const output = path.resolve(flags.output ?? defaultRunOptions.output);
  const folder = path.dirname(output);
  if (!existsSync(folder)) {
    try {
      await mkdir(folder, { recursive: true });
    } catch {
      throw new UsageError(`The output folder ${folder} does not exist and cannot be created.`);
    }
    if (flags.output !== undefined) sayFor(flags)(`Created the output folder ${folder}.`);
  }
  if (!(await canWriteIn(folder))) throw new UsageError(`The output folder ${folder} is not writable.`);
  // With a shared store the CLI streams the list into it: no worker reads the file, so only the output is confined.
  const outside =
    (config.databaseUrl ? undefined : await inputProblem(input, config.folders)) ??
    (await outputProblem(output, config.folders));
  if (outside) throw new UsageError(outside);
  if (!flags.force && !(await isEarlierExport(output)))
    throw new UsageError(`The output ${output} exists and is not an sdw-etl export; pass --force to replace it.`);
  const campaign = flags.campaign ?? campaignOf(input);
  if (!validCampaign(campaign)) throw new UsageError(campaignProblem(campaign));
  return {
    input,
    output,
    apiUrl: flags.apiUrl === undefined ? config.apiUrl : parseUrl(flags.apiUrl, '--api-url'),
    sink: flags.sink,
    concurrency: flags.concurrency,
    batchSize: flags.batchSize,
    onApiFailure: flags.onApiFailure,
    onLlmFailure: flags.onLlmFailure,
    ...(flags.llmMode === 'batch' ? { llmMode: 'batch' as const } : {}),
    locale: flags.locale ?? config.locale,
    pageSize: flags.pageSize,
    apiOutageWaitMs: flags.apiOutageWaitMs,
    campaign,
  };
}

/** Lists up to this many customers' outcomes under a run's summary. */
const customersListedUpTo = 50;

/** One customer's line under a run's summary; the message and reason come from outside, so shown printable. */
export function customerLine(o: ReportedCustomer): string {
  const why = o.error ? `  [${printable(o.error.reason)}]` : '';
  return `  ${String(o.id).padStart(2)}  ${o.status.padEnd(7)}  ${(o.source ?? '-').padEnd(4)}/${(o.messageSource ?? '-').padEnd(8)}  ${printable(o.message ?? '-')}${why}`;
}

/** Prints the run's summary, and each customer's outcome for short lists (read back from Temporal). */
export async function printSummary(client: Client, summary: RunSummary, config: Config): Promise<void> {
  const c = summary.counts;
  const seconds = (Date.parse(summary.endedAt) - Date.parse(summary.startedAt)) / 1000;
  console.log(`\nRun ${summary.runId} finished in ${seconds.toFixed(1)} s`);
  console.log(`  rows        ${c.rows} (${plural(c.invalid, 'invalid row')}, ${plural(c.duplicates, 'duplicate')})`);
  console.log(`  campaign    ${printable(summary.campaign)}`);
  console.log(`  loaded      ${c.loaded}`);
  if (c.alreadyLoaded > 0) console.log(`  already     ${c.alreadyLoaded} (loaded by an earlier run of the campaign)`);
  console.log(`  skipped     ${c.skipped}`);
  console.log(`  failed      ${c.failed}`);
  if (c.notProcessed > 0) console.log(`  not processed ${c.notProcessed}`);
  console.log(`  from mock   ${c.fromMock}`);
  console.log(`  templated   ${c.templated}`);
  console.log(
    `  tokens      ${c.promptTokens + c.completionTokens} (estimated cost US$ ${summary.estimatedCostUsd.toFixed(6)}${summary.batchSavingUsd ? `, US$ ${summary.batchSavingUsd.toFixed(6)} less than sync through the Batch API` : ''})`,
  );
  const customers: ReportedCustomer[] =
    c.rows - c.invalid - c.duplicates <= customersListedUpTo
      ? (await rebuildReport(client, summary.runId, config)).customers
      : [];
  if (customers.length > 0) {
    console.log('\n  id  status   source  message');
    for (const o of customers) console.log(customerLine(o));
  }
  if (summary.exportPath) console.log(`\nExport: ${printable(summary.exportPath)}`);
  console.log(`Report: ${printable(summary.reportPath)}`);
  console.log(`HTML report: ${printable(summary.htmlReportPath)}`);
  console.log(`Web UI: ${runUrl(config, summary.runId)}`);
}

/** Exit code of a finished run: 0 when every valid row was loaded, 2 when some were not. */
export const exitCodeFor = (summary: RunSummary): number =>
  summary.counts.skipped + summary.counts.failed + (summary.counts.notProcessed ?? 0) > 0 ? 2 : 0;

/**
 * Starts a run, or says in one sentence why it cannot start: a run with that id exists, the namespace or its search
 * attributes are missing, or no worker polls the task queue (a detached run starts anyway, with a warning).
 */
export async function startOrRefuse(
  client: Client,
  config: Config,
  runId: string,
  options: RunOptions,
  detached = false,
): Promise<WorkflowHandle<typeof etlRun>> {
  await checkNamespace(client.connection, config);
  if (!(await workerPolls(client.connection, config))) {
    if (!detached) throw new ConfigError(`${noWorkerMessage(config)} The run was not started.`);
    console.error(`sdw-etl: ${noWorkerMessage(config)} The run waits for one.`);
  }
  try {
    return await startRun(client, config.temporal.taskQueue, runId, options);
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError)
      throw new UsageError(`A run with id ${runId} already exists.`);
    throw err;
  }
}

/** The innermost cause's message: the activity's own sentence rather than "Activity task failed". */
export function rootCause(err: Error): string {
  let cause: Error = err;
  while (cause.cause instanceof Error) cause = cause.cause;
  return cause.message;
}

/** A run that started and then failed: the run's own failure, not the set-up's. */
export class RunFailedError extends UsageError {}

/**
 * Follows a run with its progress (a bar on a terminal, plain lines off one, none with --quiet or --json), prints
 * its summary (or its JSON document), and returns the exit code.
 */
export async function followAndSummarize(
  client: Client,
  handle: WorkflowHandle<typeof etlRun>,
  config: Config,
  flags: FollowFlags = {},
): Promise<number> {
  const runId = handle.workflowId;
  const webUiUrl = runUrl(config, runId);
  const mode = progressModeFor(flags);
  const options = await runOptionsOf(handle);
  const display = progressDisplay(mode, mode === 'none' ? undefined : await countDataRows(options.input));
  let summary: RunSummary;
  try {
    summary = await followRun(handle, (p) => display.show(p));
  } catch (err) {
    display.stop();
    if (err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure) {
      const reportPath = reportPathFor(options.output, runId);
      if (flags.json) printJson({ runId, state: 'cancelled', exitCode: 2, reportPath, webUiUrl });
      else console.log(`Run ${runId} was cancelled; what it did is in ${printable(reportPath)}`);
      return 2;
    }
    if (err instanceof WorkflowFailedError) throw new RunFailedError(`Run ${runId} failed: ${rootCause(err)}`);
    throw err;
  }
  display.stop();
  const exitCode = exitCodeFor(summary);
  if (flags.json) printJson({ ...summary, state: 'completed', exitCode, webUiUrl });
  else await printSummary(client, summary, config);
  return exitCode;
}

/** Starts a run; unless detached, follows it to the end. Returns the exit code. */
export async function runCommand(flags: RunFlags, config: Config): Promise<number> {
  const runId = flags.id ?? newRunId();
  if (!validRunId(runId)) {
    throw new UsageError(runIdProblem(runId));
  }
  const options = await runOptions(flags, config);
  const say = sayFor(flags);
  if (!config.llm) {
    say(
      'No OPENAI_API_KEY or OPENAI_BASE_URL is set here: workers started from this shell write offline template messages.',
    );
  }
  const client = await connectClient(config);
  try {
    const stored = await withStoredInput(client, config, runId, options, flags.input);
    const handle = await startOrRefuse(client, config, runId, stored, flags.detach);
    if (flags.detach) {
      if (flags.json) printJson({ runId, state: 'started', webUiUrl: runUrl(config, runId) });
      else console.log(runId);
      return 0;
    }
    if (!flags.quiet && !flags.json) console.log(`Run ${runId} started: ${runUrl(config, runId)}`);
    return await followAndSummarize(client, handle, config, flags);
  } finally {
    await client.connection.close();
  }
}
