// The three systems the benchmark compares, each on fresh simulators of its own and measured on one clock: the
// pipeline (dev server, worker, run), the concurrent script (a promise pool), and the sequential script.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { firstName } from '../personalize';
import { generateCustomers, startBankApi, type BankApiSimulator } from '../simulators/bank-api';
import { startLlm } from '../simulators/llm';
import { defaultRunOptions, progressQuery } from '../workflows/api';
import { cpuSecondsOf, sleep, startBenchEnvironment } from './processes';
import { summariseProfiles, type ProfileSummary } from './profile';
import { analyse, now, portOf, type RequestRecorder, type Timeline } from './timeline';
import { startWatching, type TelemetryChoice, type TelemetryFigures } from './watching';

export interface Setting {
  customers: number;
  llmLatencyMs: number;
  apiLatencyMs: number;
  concurrency: number;
  batchSize: number;
  pageSize: number;
  encrypt?: boolean;
  /** Write a CPU profile of the worker into this folder. */
  cpuProfDir?: string;
  /** The pipeline's worker with metrics, traces or both, and what they show beside the bench's figures. */
  telemetry?: TelemetryChoice;
}

export interface SystemResult extends Timeline {
  loaded: number;
  wallSeconds: number;
  customersPerSecond: number;
  /** Throughput over the bound the work done allows (C over each customer's time at the simulators). */
  fractionOfBound: number;
}

export interface PipelineResult extends SystemResult {
  /** The run's own count of customers in flight (lanes it gave its batches), sampled every 250 ms. */
  lanesGranted: { mean: number; p10: number };
  workerPeakRssMiB: number;
  workerStartSeconds: number;
  historyEventsPerCustomer: number;
  serverCpuMsPerCustomer: number;
  workerCpuMsPerCustomer: number;
  simulatorsCpuMsPerCustomer: number;
  coresBusy: number;
  /** With a CPU profile: what the worker's CPU went on while the run ran (its start left out). */
  workerCpuProfile?: ProfileSummary;
  /** With --telemetry: /metrics beside the bench's own figures, the spans received. */
  telemetry?: TelemetryFigures;
}

/** A run that makes no bank request for this long is stuck (its export takes seconds). */
const stallMs = 3 * 60_000;

/** The pipeline's run stopped making progress; the benchmark reports it and goes on with the next round. */
export class StalledRun extends Error {}

const nameOfIn =
  (bank: BankApiSimulator) =>
  (id: number): string =>
    firstName(bank.users.get(id)?.name ?? null, defaultRunOptions.locale);

function result(timeline: Timeline, loaded: number, seconds: number): SystemResult {
  const rate = timeline.customers / seconds;
  return {
    ...timeline,
    loaded,
    wallSeconds: Number(seconds.toFixed(1)),
    customersPerSecond: Number(rate.toFixed(2)),
    fractionOfBound: Number((rate / timeline.boundPerSecond).toFixed(3)),
  };
}

/** The pipeline: a dev server, simulators and a worker of its own, one run of the setting's customers. */
export async function runPipeline(setting: Setting, recorder: RequestRecorder): Promise<PipelineResult> {
  const { customers: n, concurrency: c } = setting;
  let profileWindowUs: [number, number] = [0, 0];
  const watching = await startWatching(setting.telemetry);
  const env = await startBenchEnvironment({
    customers: n,
    apiLatencyMs: setting.apiLatencyMs,
    llmLatencyMs: setting.llmLatencyMs,
    encrypt: setting.encrypt,
    workerArgs: watching?.workerArgs,
    workerEnv: watching?.workerEnv,
    workerNodeArgs: setting.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', setting.cpuProfDir] : [],
  }).catch(async (err: unknown) => {
    await watching?.close();
    throw err;
  });
  let measured: PipelineResult;
  let telemetryOf: (() => TelemetryFigures) | undefined;
  try {
    const serverCpu = cpuSecondsOf(env.server.process.pid!);
    const workerCpu = cpuSecondsOf(env.worker.process.pid!);
    const ownCpu = process.cpuUsage();
    const startUs = process.hrtime.bigint() / 1000n;
    await watching?.runStarting();
    const start = now();
    const handle = await env.startRun(n, {
      concurrency: c,
      batchSize: setting.batchSize,
      pageSize: setting.pageSize,
    });
    let done = false;
    const summaryPromise = handle.result().finally(() => (done = true));
    const granted: number[] = [];
    const requests = (): number => env.bankApi.requests.GET + env.bankApi.requests.PUT;
    let lastRequests = requests();
    let lastProgress = Date.now();
    while (!done) {
      await Promise.race([sleep(250), summaryPromise.catch(() => undefined)]);
      if (done) break;
      granted.push(
        await handle.query(progressQuery).then(
          (p) => p.inFlight,
          () => 0,
        ),
      );
      if (requests() !== lastRequests) [lastRequests, lastProgress] = [requests(), Date.now()];
      else if (Date.now() - lastProgress > stallMs) {
        const stuck: string[] = [];
        const query = `SdwRunId = '${handle.workflowId}' AND ExecutionStatus = 'Running'`;
        for await (const w of env.client.workflow.list({ query })) stuck.push(w.workflowId);
        // Ended, so nothing waits on it when the connection closes (its batches end with it).
        await handle.terminate('the benchmark: no progress').catch(() => undefined);
        await summaryPromise.catch(() => undefined);
        throw new StalledRun(
          `the run made no bank request for ${stallMs / 60_000} minutes; still running: ${stuck.join(', ')}; the worker's last output:\n${env.worker.output().slice(-1500)}`,
        );
      }
    }
    const summary = await summaryPromise;
    const end = now();
    await watching?.runEnded();
    profileWindowUs = [Number(startUs), Number(process.hrtime.bigint() / 1000n)];
    const seconds = (end - start) / 1000;
    const serverCpuSeconds = cpuSecondsOf(env.server.process.pid!) - serverCpu;
    const workerCpuSeconds = cpuSecondsOf(env.worker.process.pid!) - workerCpu;
    const { user, system } = process.cpuUsage(ownCpu);
    const simulatorCpuSeconds = (user + system) / 1e6;
    let events = 0;
    const query = `SdwRunId = '${handle.workflowId}'`;
    for await (const w of env.client.workflow.list({ query })) events += w.historyLength;
    const spans = recorder.take([portOf(env.bankApi.url), portOf(env.llm.url)]);
    const timeline = analyse(spans, portOf(env.bankApi.url), nameOfIn(env.bankApi), c, { start, end });
    if (watching) {
      const bankPort = portOf(env.bankApi.url);
      const run = { timeline, seconds, counts: summary.counts, runId: handle.workflowId, bankPort, spans };
      telemetryOf = () => watching.figures(run);
    }
    granted.sort((x, y) => x - y);
    const perCustomer = (s: number): number => Math.round((s * 1000) / n);
    measured = {
      ...result(timeline, summary.counts.loaded, seconds),
      lanesGranted: {
        mean: Number((granted.reduce((a, b) => a + b, 0) / Math.max(1, granted.length)).toFixed(1)),
        p10: granted[Math.max(0, Math.ceil(granted.length / 10) - 1)] ?? 0,
      },
      workerPeakRssMiB: Math.round(env.worker.peakRss() / 2 ** 20),
      workerStartSeconds: Number(env.worker.startSeconds.toFixed(1)),
      historyEventsPerCustomer: Number((events / n).toFixed(1)),
      serverCpuMsPerCustomer: perCustomer(serverCpuSeconds),
      workerCpuMsPerCustomer: perCustomer(workerCpuSeconds),
      // This process: the two simulators answering, and the client following the run.
      simulatorsCpuMsPerCustomer: perCustomer(simulatorCpuSeconds),
      coresBusy: Number(((serverCpuSeconds + workerCpuSeconds + simulatorCpuSeconds) / seconds).toFixed(2)),
    };
  } finally {
    await env.stop();
    // The span receiver's requests are no simulator's: dropped from the recorder.
    if (watching?.receiverPort) recorder.take([watching.receiverPort]);
    await watching?.close();
  }
  // The worker sends its last spans as it stops: counted after it has.
  if (telemetryOf) measured.telemetry = telemetryOf();
  // The worker writes its profiles as it exits.
  if (setting.cpuProfDir) measured.workerCpuProfile = summariseProfiles(setting.cpuProfDir, profileWindowUs);
  return measured;
}

const scriptPath = path.join(__dirname, 'concurrent-script.js');

/** A script (the promise pool, or the loop with `lanes` 1) as a process of its own, on fresh simulators of its own. */
export async function runScript(
  setting: Setting,
  kind: 'concurrent' | 'sequential',
  count: number,
  recorder: RequestRecorder,
): Promise<SystemResult> {
  const bankApi = await startBankApi({
    seed: generateCustomers(count + 1, 1),
    faults: { latencyMs: setting.apiLatencyMs },
  });
  const llm = await startLlm({ faults: { latencyMs: setting.llmLatencyMs }, keepRequests: 0 });
  try {
    const lanes = kind === 'concurrent' ? setting.concurrency : 1;
    const args = [scriptPath, bankApi.url, llm.baseURL, String(lanes), '2', String(count)];
    if (kind === 'sequential') args.push('--sequential');
    const { stdout } = await promisify(execFile)(process.execPath, args, {
      env: { ...process.env, OPENAI_API_KEY: 'sk-bench' },
    });
    const ran = JSON.parse(stdout.trim().split('\n').at(-1)!) as { startedAt: number; endedAt: number; loaded: number };
    const wall = { start: ran.startedAt, end: ran.endedAt };
    const timeline = analyse(
      recorder.take([portOf(bankApi.url), portOf(llm.url)]),
      portOf(bankApi.url),
      nameOfIn(bankApi),
      lanes,
      wall,
    );
    return result(timeline, ran.loaded, (wall.end - wall.start) / 1000);
  } finally {
    await bankApi.close();
    await llm.close();
  }
}
