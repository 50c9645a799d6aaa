// The scale check: N rows through the pipeline on a dev server of its own, the LLM simulator at zero latency.
// Prints the largest history of any run of the chain, the worker's peak memory, and the throughput.
//   npm run scale -- [--rows 100000] [--concurrency 100] [--batch-size 100] [--page-size 5000] [--store postgres]
//                    [--cancel-after 60]
// With --store postgres, the records and the input live in a PostgreSQL of its own, and the store's cost per customer
// (milliseconds to store the input, rows and bytes) is printed too. With --cancel-after, the run is cancelled after so
// many seconds: it prints how long the cancelled run took to export and close, its counts (not_processed among them)
// and the size of its HTML report.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import type { WorkflowHandle } from '@temporalio/client';
import { reportPathFor, htmlReportPathFor } from '../report';
import { positiveInt } from '../cli/context';
import { defaultRunOptions, maxBatchSize, maxConcurrency, progressQuery } from '../workflows/api';
import { startBenchPostgres, type BenchPostgres } from './postgres';
import { saveResults, sleep, startBenchEnvironment, type BenchEnvironment } from './processes';

/** Cancels the run after `seconds`; returns what the cancelled run's close and reports took. */
async function cancelAndMeasure(env: BenchEnvironment, handle: WorkflowHandle, seconds: number, command: string) {
  await sleep(seconds * 1000);
  const cancelledAt = Date.now();
  await handle.cancel();
  await handle.result().catch(() => undefined);
  const closeSeconds = (Date.now() - cancelledAt) / 1000;
  // The close in two parts, from the run's history: the open batches finishing, then the export and reports.
  const events = (await env.client.workflow.getHandle(handle.workflowId).fetchHistory()).events ?? []; // the last run of the chain
  const exportEvent = events.find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'exportResults',
  );
  const exportStartedAt = exportEvent?.eventTime
    ? Number(exportEvent.eventTime.seconds) * 1000 + (exportEvent.eventTime.nanos ?? 0) / 1e6
    : undefined;
  const batchesSeconds = exportStartedAt === undefined ? null : Math.max(0, (exportStartedAt - cancelledAt) / 1000);
  const reportFile = reportPathFor(path.join(env.dir, 'SDW2023_final.json'), handle.workflowId);
  const html = readFileSync(htmlReportPathFor(reportFile), 'utf8');
  const data = /<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1]!;
  const report = JSON.parse(data) as { counts: Record<string, number>; overview: { customersListed: number } };
  return {
    date: new Date().toISOString(),
    command,
    cancelledAfterSeconds: seconds,
    cancelToClosedSeconds: Number(closeSeconds.toFixed(1)),
    openBatchesFinishedSeconds: batchesSeconds === null ? null : Number(batchesSeconds.toFixed(1)),
    exportSeconds: batchesSeconds === null ? null : Number((closeSeconds - batchesSeconds).toFixed(1)),
    counts: report.counts,
    htmlReportBytes: Buffer.byteLength(html),
    htmlCustomersListed: report.overview.customersListed,
    jsonReportBytes: statSync(reportFile).size,
  };
}

async function main(): Promise<void> {
  const flags = new Command('scale')
    .option('--rows <n>', 'rows in the CSV', positiveInt(10_000_000), 100_000)
    .option('--concurrency <n>', 'customers in flight', positiveInt(maxConcurrency), 100)
    .option('--batch-size <n>', 'customers per batch workflow', positiveInt(maxBatchSize), defaultRunOptions.batchSize)
    .option(
      '--page-size <n>',
      'rows per page (one continue-as-new each)',
      positiveInt(5000),
      defaultRunOptions.pageSize,
    )
    .addOption(new Option('--store <store>', 'where records (and the input) live').choices(['files', 'postgres']))
    .option('--keep', 'keep the scratch folder (database, records, export)')
    .option('--cancel-after <s>', 'cancel the run after so many seconds and measure its close', positiveInt(86_400))
    .parse()
    .opts<{
      rows: number;
      concurrency: number;
      batchSize: number;
      pageSize: number;
      store?: 'files' | 'postgres';
      keep?: boolean;
      cancelAfter?: number;
    }>();

  const pgDir = flags.store === 'postgres' ? mkdtempSync(path.join(os.tmpdir(), 'sdw-etl-scale-pg-')) : undefined;
  const postgres = pgDir ? await startBenchPostgres(pgDir) : undefined;
  const env = await startBenchEnvironment({
    customers: flags.rows,
    apiLatencyMs: 0,
    llmLatencyMs: 0,
    databaseUrl: postgres?.url,
  }).catch(async (err: unknown) => {
    await postgres?.stop(); // an environment that did not start leaves no PostgreSQL behind
    throw err;
  });
  try {
    const started = Date.now();
    const handle = await env.startRun(flags.rows, flags);
    const startMs = Date.now() - started;
    const runId = handle.workflowId;
    console.log(
      `Run ${runId}: ${flags.rows} rows, concurrency ${flags.concurrency}, batches of ${flags.batchSize}, pages of ${flags.pageSize}`,
    );
    if (flags.cancelAfter !== undefined) {
      const command = `npm run scale -- --rows ${flags.rows} --concurrency ${flags.concurrency} --cancel-after ${flags.cancelAfter}`;
      const figures = await cancelAndMeasure(env, handle, flags.cancelAfter, command);
      console.log(JSON.stringify(figures, null, 2));
      console.log(`Saved to ${saveResults('scale-cancel', figures)}`);
      return;
    }
    let finished = false;
    const result = handle.result().finally(() => (finished = true));
    while (!finished) {
      await Promise.race([sleep(10_000), result.catch(() => undefined)]);
      if (finished) break;
      const exitCode = env.worker.process.exitCode;
      if (exitCode !== null) throw new Error(`the worker exited (code ${exitCode}):\n${env.worker.output()}`);
      try {
        const p = await handle.query(progressQuery);
        const done = p.counts.loaded + p.counts.skipped + p.counts.failed;
        const seconds = (Date.now() - started) / 1000;
        console.log(
          `  ${seconds.toFixed(0)} s: ${done} done, ${(done / seconds).toFixed(1)}/s, worker RSS ${(env.worker.peakRss() / 2 ** 20).toFixed(0)} MiB peak`,
        );
      } catch {
        // Between two runs of the chain; the next poll answers.
      }
    }
    const summary = await result;
    const wallSeconds = (Date.now() - started) / 1000;
    let runs = 0;
    let largestHistory = 0;
    for await (const execution of env.client.workflow.list({ query: `WorkflowId = '${runId}'` })) {
      runs += 1;
      largestHistory = Math.max(largestHistory, execution.historyLength);
    }
    const figures = {
      date: new Date().toISOString(),
      command: `npm run scale -- --rows ${flags.rows} --concurrency ${flags.concurrency} --batch-size ${flags.batchSize} --page-size ${flags.pageSize}${flags.store ? ` --store ${flags.store}` : ''}`,
      rows: flags.rows,
      loaded: summary.counts.loaded,
      runsInChain: runs,
      largestRunHistoryEvents: largestHistory,
      workerPeakRssMiB: Math.round(env.worker.peakRss() / 2 ** 20),
      wallSeconds: Math.round(wallSeconds),
      customersPerSecond: Number((flags.rows / wallSeconds).toFixed(1)),
      store: postgres ? await storeCost(postgres, flags.rows, startMs) : 'files',
    };
    console.log(JSON.stringify(figures, null, 2));
    console.log(`Saved to ${saveResults('scale', figures)}`);
  } finally {
    await env.stop(flags.keep);
    await postgres?.stop();
    if (pgDir && !flags.keep) rmSync(pgDir, { recursive: true, force: true });
  }
}

/** What the PostgreSQL store cost per customer: the input's upload (with the CSV written and the run started), rows and bytes. */
async function storeCost(postgres: BenchPostgres, customers: number, startMs: number) {
  const tables = await postgres.tables();
  const total = Object.values(tables).reduce((sum, t) => ({ rows: sum.rows + t.rows, bytes: sum.bytes + t.bytes }), {
    rows: 0,
    bytes: 0,
  });
  return {
    tables,
    msToStoreInputPerThousand: Number(((startMs / customers) * 1000).toFixed(1)),
    rowsPerCustomer: Number((total.rows / customers).toFixed(2)),
    bytesPerCustomer: Math.round(total.bytes / customers),
  };
}

main().catch((err: unknown) => {
  console.error(`scale: ${(err as Error).message}`);
  process.exitCode = 1;
});
