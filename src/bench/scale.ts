// The scale check: N rows through the pipeline on a dev server of its own, the LLM simulator at zero latency.
// Prints the largest history of any run of the chain, the worker's peak memory, and the throughput.
//   npm run scale -- [--rows 100000] [--concurrency 100] [--page-size 1000]
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { newRunId, startRun } from '../client';
import { projectRoot } from '../config';
import { defaultRunOptions, progressQuery } from '../shared';
import { generateCustomers, startBankApi } from '../simulators/bank-api';
import { startLlm } from '../simulators/llm';
import { positiveInt } from '../cli/options';
import { sleep, startDevServer, startWorkerProcess } from './processes';

async function writeIds(file: string, count: number): Promise<void> {
  const out = createWriteStream(file);
  out.write('UserID\n');
  for (let id = 2; id < count + 2; id++) {
    if (!out.write(`${id}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function main(): Promise<void> {
  const flags = new Command('scale')
    .option('--rows <n>', 'rows in the CSV', positiveInt(10_000_000), 100_000)
    .option('--concurrency <n>', 'customers in flight', positiveInt(1000), 100)
    .option('--page-size <n>', 'rows per page (one continue-as-new each)', positiveInt(5000), 1000)
    .option('--keep', 'keep the scratch folder (database, records, export)')
    .parse()
    .opts<{ rows: number; concurrency: number; pageSize: number; keep?: boolean }>();

  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdw-etl-scale-'));
  const input = path.join(dir, 'ids.csv');
  await writeIds(input, flags.rows);
  const server = await startDevServer(path.join(dir, 'temporal.db'));
  const bankApi = await startBankApi({ seed: generateCustomers(flags.rows + 1, 1) });
  const llm = await startLlm({ keepRequests: 0 });
  const worker = await startWorkerProcess({
    TEMPORAL_ADDRESS: server.address,
    SDW_TASK_QUEUE: 'sdw-etl-scale',
    SDW_DATA_DIR: path.join(dir, 'data'),
    OPENAI_BASE_URL: llm.baseURL,
    OPENAI_API_KEY: 'sk-scale',
  });
  const client = new Client({ connection: await Connection.connect({ address: server.address }) });
  try {
    const runId = newRunId();
    const started = Date.now();
    const handle = await startRun(client, 'sdw-etl-scale', runId, {
      ...defaultRunOptions,
      input,
      output: path.join(dir, 'SDW2023_final.json'),
      apiUrl: bankApi.url,
      concurrency: flags.concurrency,
      pageSize: flags.pageSize,
    });
    console.log(`Run ${runId}: ${flags.rows} rows, concurrency ${flags.concurrency}, pages of ${flags.pageSize}`);
    const result = handle.result();
    let finished = false;
    void result.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      await sleep(10_000);
      try {
        const p = await handle.query(progressQuery);
        const done = p.counts.loaded + p.counts.skipped + p.counts.failed;
        const seconds = (Date.now() - started) / 1000;
        console.log(
          `  ${seconds.toFixed(0)} s: ${done} done, ${(done / seconds).toFixed(1)}/s, worker RSS ${(worker.peakRss() / 2 ** 20).toFixed(0)} MiB peak`,
        );
      } catch {
        // Between two runs of the chain; the next poll answers.
      }
    }
    const summary = await result;
    const wallSeconds = (Date.now() - started) / 1000;

    let runs = 0;
    let largestHistory = 0;
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${runId}'` })) {
      runs += 1;
      largestHistory = Math.max(largestHistory, execution.historyLength);
    }
    const figures = {
      date: new Date().toISOString(),
      rows: flags.rows,
      concurrency: flags.concurrency,
      pageSize: flags.pageSize,
      loaded: summary.counts.loaded,
      runsInChain: runs,
      largestRunHistoryEvents: largestHistory,
      workerPeakRssMiB: Math.round(worker.peakRss() / 2 ** 20),
      wallSeconds: Math.round(wallSeconds),
      customersPerSecond: Number((flags.rows / wallSeconds).toFixed(1)),
    };
    console.log(JSON.stringify(figures, null, 2));
    const resultsDir = path.join(projectRoot, 'bench', 'results');
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(
      path.join(resultsDir, `scale-${figures.date.replace(/[:.]/g, '-')}.json`),
      JSON.stringify(figures, null, 2) + '\n',
    );
  } finally {
    await client.connection.close();
    await worker.stop();
    await server.stop();
    await bankApi.close();
    await llm.close();
    if (!flags.keep) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(`scale: ${(err as Error).message}`);
  process.exitCode = 1;
});
