// The benchmark: the pipeline, a concurrent script of the same steps (a promise pool) and the sequential script, each
// on fresh simulators, measured on one clock (the simulators'), K rounds and their medians; or a concurrency sweep.
//   npm run bench -- [--customers 2000] [--llm-latency-ms 300] [--api-latency-ms 20] [--concurrency 100] [--rounds 1]
//                    [--batch-size 100] [--page-size 5000] [--baseline-customers 100] [--encrypt] [--cpu-prof]
//                    [--concurrency-sweep 10,50,100,200] [--plot docs/benchmarks-concurrency.svg]
//                    [--telemetry metrics|tracing|both]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command, Option } from 'commander';
import { milliseconds, positiveInt } from '../cli/context';
import { projectRoot } from '../config';
import { defaultRunOptions, maxBatchSize, maxConcurrency } from '../workflows/api';
import { sweepSvg } from './plot';
import { saveResults } from './processes';
import { runPipeline, runScript, StalledRun, type PipelineResult, type Setting, type SystemResult } from './systems';
import { RequestRecorder, type LanesInUse } from './timeline';
import { describeTelemetry, telemetryChoices } from './watching';

interface Flags extends Setting {
  rounds: number;
  baselineCustomers: number;
  cpuProf?: boolean;
  concurrencySweep?: number[];
  plot: string;
}

function concurrencyList(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (list.length === 0 || list.some((c) => !Number.isInteger(c) || c < 1 || c > maxConcurrency)) {
    throw new Error(`--concurrency-sweep takes whole numbers from 1 to ${maxConcurrency}, comma-separated: ${value}`);
  }
  return list;
}

/** The round whose throughput is the median (the lower middle one for an even count). */
function medianRound<T extends SystemResult>(results: T[]): T & { roundsCustomersPerSecond: number[] } {
  const sorted = [...results].sort((a, b) => a.customersPerSecond - b.customersPerSecond);
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...median, roundsCustomersPerSecond: results.map((r) => r.customersPerSecond) };
}

/** The median of each of the pipeline's cost figures over the rounds, each on its own (what --telemetry changes). */
function pipelineMedians(results: PipelineResult[]) {
  const median = (pick: (r: PipelineResult) => number): number => {
    const sorted = results.map(pick).sort((a, b) => a - b);
    const mid = sorted.length / 2;
    return sorted.length % 2 === 1
      ? sorted[Math.floor(mid)]!
      : Number(((sorted[mid - 1]! + sorted[mid]!) / 2).toFixed(2));
  };
  return {
    customersPerSecond: median((r) => r.customersPerSecond),
    workerCpuMsPerCustomer: median((r) => r.workerCpuMsPerCustomer),
    workerPeakRssMiB: median((r) => r.workerPeakRssMiB),
  };
}

const log = (line: string): void => void process.stderr.write(`${line}\n`);
const lanes = (l: LanesInUse): string => `${l.mean} (p10 ${l.p10})`;
const describe = (name: string, r: SystemResult): string =>
  `${name.padEnd(18)} ${String(r.customersPerSecond).padStart(7)}/s  p50 ${r.p50LatencyMs} ms  p95 ${r.p95LatencyMs} ms  ` +
  `lanes in use mean ${lanes(r.lanesInUse)}, while C were left ${lanes(r.lanesInUseWhileWorkLeft.fromStart)}, from the first request ${lanes(r.lanesInUseWhileWorkLeft.fromFirstRequest)}  before the first request ${r.beforeFirstRequestMs} ms, after the last answer ${r.afterLastAnswerMs} ms  bound ${r.boundPerSecond}/s  reached ${(r.fractionOfBound * 100).toFixed(1)}%  loaded ${r.loaded}/${r.customers}`;

function commandOf(flags: Flags): string {
  const parts = [
    `npm run bench -- --customers ${flags.customers} --llm-latency-ms ${flags.llmLatencyMs}`,
    `--api-latency-ms ${flags.apiLatencyMs}`,
    flags.concurrencySweep
      ? `--concurrency-sweep ${flags.concurrencySweep.join(',')}`
      : `--concurrency ${flags.concurrency}`,
    `--batch-size ${flags.batchSize} --rounds ${flags.rounds}`,
  ];
  if (!flags.concurrencySweep) parts.push(`--baseline-customers ${flags.baselineCustomers}`);
  if (flags.encrypt) parts.push('--encrypt');
  if (flags.cpuProf) parts.push('--cpu-prof');
  if (flags.telemetry) parts.push(`--telemetry ${flags.telemetry}`);
  return parts.join(' ');
}

/** K rounds of the three systems at one setting; prints each round, returns the medians. */
async function compare(flags: Flags, recorder: RequestRecorder): Promise<Record<string, unknown>> {
  const pipelines: PipelineResult[] = [];
  const scripts: SystemResult[] = [];
  const sequentials: SystemResult[] = [];
  const stalled: { round: number; message: string }[] = [];
  for (let round = 1; round <= flags.rounds; round++) {
    const profDir = flags.cpuProf && round === 1 ? mkdtempSync(path.join(os.tmpdir(), 'sdw-etl-prof-')) : undefined;
    try {
      pipelines.push(await runPipeline({ ...flags, cpuProfDir: profDir }, recorder));
    } catch (err) {
      if (!(err instanceof StalledRun)) throw err;
      log(`round ${round}: sdw-etl stalled: ${err.message}`);
      stalled.push({ round, message: err.message });
    }
    if (profDir) rmSync(profDir, { recursive: true, force: true });
    scripts.push(await runScript(flags, 'concurrent', flags.customers, recorder));
    sequentials.push(
      await runScript(flags, 'sequential', Math.min(flags.customers, flags.baselineCustomers), recorder),
    );
    log(`round ${round}/${flags.rounds}:`);
    if (stalled.at(-1)?.round !== round) {
      log(`  ${describe('sdw-etl', pipelines.at(-1)!)}`);
      for (const line of describeTelemetry(pipelines.at(-1)!.telemetry ?? {})) log(`    ${line}`);
    }
    log(`  ${describe('concurrent script', scripts.at(-1)!)}`);
    log(`  ${describe('sequential script', sequentials.at(-1)!)}`);
  }
  if (pipelines.length === 0) throw new Error(`sdw-etl stalled in every round: ${stalled[0]?.message}`);
  const pipeline = medianRound(pipelines);
  const concurrentScript = medianRound(scripts);
  const baseline = medianRound(sequentials);
  const { llmLatencyMs: l, apiLatencyMs: a, concurrency: c } = flags;
  const ratio = Number((pipeline.customersPerSecond / concurrentScript.customersPerSecond).toFixed(2));
  console.log(`Median of ${flags.rounds} round${flags.rounds === 1 ? '' : 's'} (by throughput):`);
  console.log(`  ${describe('sdw-etl', pipeline)}`);
  for (const line of describeTelemetry(pipeline.telemetry ?? {})) console.log(`    ${line}`);
  const medians = pipelineMedians(pipelines);
  console.log(
    `  sdw-etl, each figure's own median: ${medians.customersPerSecond}/s, worker CPU ${medians.workerCpuMsPerCustomer} ms a customer, worker peak RSS ${medians.workerPeakRssMiB} MiB`,
  );
  console.log(`  ${describe('concurrent script', concurrentScript)}`);
  console.log(`  ${describe('sequential script', baseline)}`);
  console.log(
    `  sdw-etl / concurrent script: ${ratio}; sdw-etl / sequential: ${(pipeline.customersPerSecond / baseline.customersPerSecond).toFixed(1)}`,
  );
  return {
    pipeline,
    pipelineMedians: medians,
    concurrentScript,
    baseline,
    ratioToConcurrentScript: ratio,
    speedup: Number((pipeline.customersPerSecond / baseline.customersPerSecond).toFixed(1)),
    // The issue's floor: C lanes over the four steps' latencies alone (GET, LLM, GET, PUT).
    floorCOverLPlus3A: Number(((c * 1000) / Math.max(1, l + 3 * a)).toFixed(1)),
    // Rounds in which the pipeline's run got stuck (left out of its median).
    stalledRounds: stalled,
    // Round 1's, when profiled.
    workerCpuProfile: pipelines[0]?.workerCpuProfile,
  };
}

/** The pipeline and the concurrent script at each concurrency; writes the plot. */
async function sweep(flags: Flags, recorder: RequestRecorder): Promise<Record<string, unknown>> {
  const points: { concurrency: number; pipeline: SystemResult; concurrentScript: SystemResult }[] = [];
  for (const concurrency of flags.concurrencySweep!) {
    const setting = { ...flags, concurrency };
    const pipelines: SystemResult[] = [];
    const scripts: SystemResult[] = [];
    for (let round = 1; round <= flags.rounds; round++) {
      try {
        pipelines.push(await runPipeline(setting, recorder));
      } catch (err) {
        if (!(err instanceof StalledRun)) throw err;
        log(`C = ${concurrency}, round ${round}: sdw-etl stalled: ${err.message}`);
      }
      scripts.push(await runScript(setting, 'concurrent', flags.customers, recorder));
    }
    // A concurrency at which every round of sdw-etl stalled is left out of the plot (and printed).
    if (pipelines.length === 0) continue;
    const point = { concurrency, pipeline: medianRound(pipelines), concurrentScript: medianRound(scripts) };
    log(`C = ${concurrency}:`);
    log(`  ${describe('sdw-etl', point.pipeline)}`);
    log(`  ${describe('concurrent script', point.concurrentScript)}`);
    points.push(point);
  }
  const at = (system: 'pipeline' | 'concurrentScript') =>
    points.map((p) => ({ concurrency: p.concurrency, ...p[system] }));
  const svg = sweepSvg(
    [
      { name: 'sdw-etl', colour: '#c0392b', points: at('pipeline') },
      { name: 'concurrent script', colour: '#2471a3', points: at('concurrentScript') },
    ],
    `N = ${flags.customers}, L = ${flags.llmLatencyMs} ms, A = ${flags.apiLatencyMs} ms, ${flags.rounds === 1 ? 'one run' : `median of ${flags.rounds}`} each; ${os.cpus().length} cores, ${new Date().toISOString().slice(0, 10)}`,
  );
  const plot = path.resolve(projectRoot, flags.plot);
  writeFileSync(plot, svg);
  log(`Plot written to ${plot}`);
  return {
    sweep: points.map((p) => ({
      concurrency: p.concurrency,
      pipeline: p.pipeline,
      concurrentScript: p.concurrentScript,
      ratioToConcurrentScript: Number(
        (p.pipeline.customersPerSecond / p.concurrentScript.customersPerSecond).toFixed(2),
      ),
    })),
    plot: path.relative(projectRoot, plot),
  };
}

async function main(): Promise<void> {
  const flags = new Command('bench')
    .option('--customers <n>', 'customers to run', positiveInt(1_000_000), 2000)
    .option('--llm-latency-ms <ms>', 'the LLM simulator’s latency', milliseconds, 300)
    .option('--api-latency-ms <ms>', 'the bank API simulator’s latency', milliseconds, 20)
    .option(
      '--concurrency <n>',
      'customers in flight (pipeline and concurrent script)',
      positiveInt(maxConcurrency),
      100,
    )
    .option('--rounds <k>', 'rounds of every system; the medians are reported', positiveInt(99), 1)
    .option('--batch-size <n>', 'customers per batch workflow', positiveInt(maxBatchSize), defaultRunOptions.batchSize)
    .option('--page-size <n>', 'rows per page of the pipeline', positiveInt(5000), defaultRunOptions.pageSize)
    .option('--baseline-customers <n>', 'customers through the sequential script', positiveInt(1_000_000), 100)
    .option('--encrypt', 'encrypt every payload (what the codec costs)')
    .option('--cpu-prof', 'profile the worker’s CPU in the first round and summarise it')
    .option('--concurrency-sweep <list>', 'the pipeline and the concurrent script at each concurrency', concurrencyList)
    .option('--plot <file>', 'where the sweep’s SVG goes', 'docs/benchmarks-concurrency.svg')
    .addOption(
      new Option(
        '--telemetry <what>',
        'the pipeline’s worker with metrics, traces or both, set beside the figures',
      ).choices(telemetryChoices),
    )
    .parse()
    .opts<Flags>();
  const recorder = new RequestRecorder();
  try {
    const measured = flags.concurrencySweep ? await sweep(flags, recorder) : await compare(flags, recorder);
    const figures = {
      date: new Date().toISOString(),
      command: commandOf(flags),
      machine: `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${os.loadavg()[0]!.toFixed(1)} at the end`,
      ...measured,
    };
    console.log(JSON.stringify(figures, null, 2));
    console.log(`Saved to ${saveResults(flags.concurrencySweep ? 'bench-sweep' : 'bench', figures)}`);
  } finally {
    recorder.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${(err as Error).message}`);
  process.exitCode = 1;
});
