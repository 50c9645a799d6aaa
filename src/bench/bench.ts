// The benchmark: N customers through the pipeline, then the same N through a sequential script of the original
// notebook's shape (GET, LLM, PUT, one customer at a time), against the same simulators, in the same run.
//   npm run bench -- [--customers 2000] [--llm-latency-ms 300] [--api-latency-ms 20] [--concurrency 100]
//                    [--batch-size 100] [--page-size 5000] [--baseline-customers N] [--encrypt]
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Command } from 'commander';
import OpenAI from 'openai';
import { milliseconds, positiveInt } from '../cli/context';
import type { RunReport } from '../report';
import { newsIcon } from '../personalize';
import { defaultRunOptions, maxBatchSize, maxConcurrency } from '../workflows/api';
import { cpuSecondsOf, saveResults, startBenchEnvironment, type BenchEnvironment } from './processes';

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** The original notebook's loop: for each id, GET the user, ask the LLM, PUT the user back. One at a time. */
async function sequentialBaseline(
  env: BenchEnvironment,
  ids: number[],
): Promise<{ seconds: number; latencies: number[] }> {
  const openai = new OpenAI({ baseURL: env.llm.baseURL, apiKey: 'sk-bench', maxRetries: 0 });
  const latencies: number[] = [];
  const started = Date.now();
  for (const id of ids) {
    const t0 = Date.now();
    const user = (await (await fetch(`${env.bankApi.url}/users/${id}`)).json()) as { name: string; news: unknown[] };
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Você é um especialista em marketing bancário.' },
        {
          role: 'user',
          content: `Crie uma mensagem para ${user.name} sobre a importância dos investimentos (máximo de 100 caracteres)`,
        },
      ],
    });
    user.news.push({ icon: newsIcon, description: completion.choices[0]?.message.content ?? '' });
    await fetch(`${env.bankApi.url}/users/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(user),
    });
    latencies.push(Date.now() - t0);
  }
  return { seconds: (Date.now() - started) / 1000, latencies };
}

async function main(): Promise<void> {
  const flags = new Command('bench')
    .option('--customers <n>', 'customers to run', positiveInt(1_000_000), 2000)
    .option('--llm-latency-ms <ms>', 'the LLM simulator’s latency', milliseconds, 300)
    .option('--api-latency-ms <ms>', 'the bank API simulator’s latency', milliseconds, 20)
    .option('--concurrency <n>', 'customers in flight in the pipeline', positiveInt(maxConcurrency), 100)
    .option('--batch-size <n>', 'customers per batch workflow', positiveInt(maxBatchSize), defaultRunOptions.batchSize)
    .option('--page-size <n>', 'rows per page of the pipeline', positiveInt(5000), defaultRunOptions.pageSize)
    .option('--baseline-customers <n>', 'customers for the sequential baseline (default: all)', positiveInt(1_000_000))
    .option('--encrypt', 'encrypt every payload (what the codec costs)')
    .parse()
    .opts<{
      customers: number;
      llmLatencyMs: number;
      apiLatencyMs: number;
      concurrency: number;
      batchSize: number;
      pageSize: number;
      baselineCustomers?: number;
      encrypt?: boolean;
    }>();
  const { customers: n, llmLatencyMs: l, apiLatencyMs: a, concurrency: c } = flags;
  const env = await startBenchEnvironment({ customers: n, apiLatencyMs: a, llmLatencyMs: l, encrypt: flags.encrypt });
  try {
    const serverCpu = cpuSecondsOf(env.server.process.pid!);
    const workerCpu = cpuSecondsOf(env.worker.process.pid!);
    const ownCpu = process.cpuUsage();
    const started = Date.now();
    const handle = await env.startRun(n, { concurrency: c, batchSize: flags.batchSize, pageSize: flags.pageSize });
    const runId = handle.workflowId;
    const summary = await handle.result();
    const pipelineSeconds = (Date.now() - started) / 1000;
    const serverCpuSeconds = cpuSecondsOf(env.server.process.pid!) - serverCpu;
    const workerCpuSeconds = cpuSecondsOf(env.worker.process.pid!) - workerCpu;
    const { user, system } = process.cpuUsage(ownCpu);
    const simulatorCpuSeconds = (user + system) / 1e6;

    // Events: every workflow of the run, as Temporal counts them. Latency: each customer's fetch, write and load
    // on the workflow clock, from the run's report.
    let events = 0;
    for await (const w of env.client.workflow.list({ query: `SdwRunId = '${runId}'` })) events += w.historyLength;
    const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as RunReport;
    const latencies = report.customers
      .map(({ durationsMs: d }) => (d ? d.fetch + d.write + d.load : 0))
      .sort((x, y) => x - y);

    const baselineIds = Array.from({ length: Math.min(n, flags.baselineCustomers ?? n) }, (_, i) => i + 2);
    const baseline = await sequentialBaseline(env, baselineIds);
    baseline.latencies.sort((x, y) => x - y);
    const baselineRate = baselineIds.length / baseline.seconds;
    const pipelineRate = n / pipelineSeconds;
    const idealRate = (c * 1000) / Math.max(1, a + l + a);

    const figures = {
      date: new Date().toISOString(),
      command: `npm run bench -- --customers ${n} --llm-latency-ms ${l} --api-latency-ms ${a} --concurrency ${c} --batch-size ${flags.batchSize}${flags.baselineCustomers ? ` --baseline-customers ${flags.baselineCustomers}` : ''}${flags.encrypt ? ' --encrypt' : ''}`,
      machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
      loaded: summary.counts.loaded,
      pipeline: {
        wallSeconds: Number(pipelineSeconds.toFixed(1)),
        customersPerSecond: Number(pipelineRate.toFixed(2)),
        p50LatencyMs: percentile(latencies, 50),
        p95LatencyMs: percentile(latencies, 95),
        workerPeakRssMiB: Math.round(env.worker.peakRss() / 2 ** 20),
        workerStartSeconds: Number(env.worker.startSeconds.toFixed(1)),
        encrypted: flags.encrypt ?? false,
        historyEventsPerCustomer: Number((events / n).toFixed(1)),
        // Where the time goes: CPU per customer in the Temporal server, the worker and the simulators.
        serverCpuMsPerCustomer: Math.round((serverCpuSeconds * 1000) / n),
        workerCpuMsPerCustomer: Math.round((workerCpuSeconds * 1000) / n),
        // This process: the two simulators answering, and the client following the run.
        simulatorsCpuMsPerCustomer: Math.round((simulatorCpuSeconds * 1000) / n),
        // All three over the wall time, in cores: near the machine's count, the pipeline is CPU-bound.
        coresBusy: Number(((serverCpuSeconds + workerCpuSeconds + simulatorCpuSeconds) / pipelineSeconds).toFixed(2)),
      },
      baseline: {
        customers: baselineIds.length,
        wallSeconds: Number(baseline.seconds.toFixed(1)),
        customersPerSecond: Number(baselineRate.toFixed(2)),
        p50LatencyMs: percentile(baseline.latencies, 50),
        p95LatencyMs: percentile(baseline.latencies, 95),
      },
      speedup: Number((pipelineRate / baselineRate).toFixed(2)),
      idealCustomersPerSecond: Number(idealRate.toFixed(1)),
      fractionOfIdeal: Number((pipelineRate / idealRate).toFixed(3)),
    };
    console.log(JSON.stringify(figures, null, 2));
    console.log(`Saved to ${saveResults('bench', figures)}`);
  } finally {
    await env.stop();
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exitCode = 1;
});
