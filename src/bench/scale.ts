// The scale check: N rows through the pipeline on a dev server of its own, the LLM simulator at zero latency.
// Prints the largest history of any run of the chain, the worker's peak memory, and the throughput.
//   npm run scale -- [--rows 100000] [--concurrency 100] [--batch-size 100] [--page-size 5000]
import { Command } from 'commander';
import { positiveInt } from '../cli/context';
import { defaultRunOptions, maxBatchSize, maxConcurrency, progressQuery } from '../workflows/api';
import { saveResults, sleep, startBenchEnvironment } from './processes';

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
    .option('--keep', 'keep the scratch folder (database, records, export)')
    .parse()
    .opts<{ rows: number; concurrency: number; batchSize: number; pageSize: number; keep?: boolean }>();

  const env = await startBenchEnvironment({ customers: flags.rows, apiLatencyMs: 0, llmLatencyMs: 0 });
  try {
    const started = Date.now();
    const handle = await env.startRun(flags.rows, flags);
    const runId = handle.workflowId;
    console.log(
      `Run ${runId}: ${flags.rows} rows, concurrency ${flags.concurrency}, batches of ${flags.batchSize}, pages of ${flags.pageSize}`,
    );
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
      command: `npm run scale -- --rows ${flags.rows} --concurrency ${flags.concurrency} --batch-size ${flags.batchSize} --page-size ${flags.pageSize}`,
      rows: flags.rows,
      loaded: summary.counts.loaded,
      runsInChain: runs,
      largestRunHistoryEvents: largestHistory,
      workerPeakRssMiB: Math.round(env.worker.peakRss() / 2 ** 20),
      wallSeconds: Math.round(wallSeconds),
      customersPerSecond: Number((flags.rows / wallSeconds).toFixed(1)),
    };
    console.log(JSON.stringify(figures, null, 2));
    console.log(`Saved to ${saveResults('scale', figures)}`);
  } finally {
    await env.stop(flags.keep);
  }
}

main().catch((err: unknown) => {
  console.error(`scale: ${(err as Error).message}`);
  process.exitCode = 1;
});
