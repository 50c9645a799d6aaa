// What the benchmark and the scale check share: a dev server, simulators and a worker process of their own.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { createPostgresStore } from '../activities/store/postgres';
import { storeInput } from '../cli/stored-input';
import { newRunId, startRun } from '../client';
import { dataConverterFor, parseEncryptionKeys } from '../codec';
import { projectRoot } from '../config';
import { generateCustomers, startBankApi, type BankApiSimulator } from '../simulators/bank-api';
import { startLlm, type LlmSimulator } from '../simulators/llm';
import { defaultRunOptions } from '../workflows/api';
import type { etlRun } from '../workflows';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The Temporal CLI, built from source the first time (scripts/install-temporal.sh). */
export function temporalBinary(): string {
  return execFileSync('bash', [path.join(projectRoot, 'scripts', 'install-temporal.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

/**
 * The dev-server flags every server sdw-etl starts for itself shares: quiet, no version check, eager activities (an
 * activity a workflow task schedules comes back to its worker with the task's answer, not through the queue: each
 * batch's first tries and the export start a hop sooner), our search attributes. scripts/dev-server.sh has the same.
 */
export function devServerFlags(): string[] {
  const searchAttributes = readFileSync(path.join(projectRoot, 'scripts', 'search-attributes.txt'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .flatMap((line) => ['--search-attribute', line]);
  return [
    '--log-level',
    'error',
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    ...searchAttributes,
  ];
}

export interface DevServer {
  address: string;
  process: ChildProcess;
  stop: () => Promise<void>;
}

/** SQLite's write-ahead log synced at checkpoints, as scripts/dev-server.sh starts the server a run uses by default. */
const sqliteLog = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal'];
/**
 * A headless dev server with its history in `dbFile` (on a free port unless given), answering before this resolves;
 * `flags` defaults to sdw-etl's (search attributes registered).
 */
export async function startDevServer(
  dbFile: string,
  serverPort?: number,
  flags = devServerFlags(),
): Promise<DevServer> {
  const temporal = temporalBinary();
  const port = serverPort ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  const where = ['--ip', '127.0.0.1', '--port', String(port), '--headless', '--db-filename', dbFile];
  const child = spawn(temporal, ['server', 'start-dev', ...where, ...sqliteLog, ...flags], { stdio: 'ignore' });
  for (let i = 0; i < 150; i++) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1 s' });
      await connection.workflowService.describeNamespace({ namespace: 'default' });
      await connection.close();
      return { address, process: child, stop: () => stopProcess(child) };
    } catch {
      await sleep(200);
    }
  }
  child.kill('SIGKILL');
  throw new Error(`The dev server did not answer on ${address}.`);
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  // A process that ignores SIGTERM for 10 s is killed.
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

export interface WorkerProcess {
  process: ChildProcess;
  /** From spawn to polling: loading its modules and starting the workflow thread. */
  startSeconds: number;
  /** What the worker printed (the last 20 kB of it). */
  output: () => string;
  /** Peak resident memory seen so far, in bytes. */
  peakRss: () => number;
  stop: () => Promise<void>;
}

/** Resident memory of a process, from /proc, in bytes (0 once it is gone). */
function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time a process has used so far, user and system, in seconds (from /proc; 0 once it is gone). */
export function cpuSecondsOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are the 12th and 13th fields after the command name, in clock ticks of 1/100 s.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** `sdw-etl worker` as its own process (`nodeArgs` to Node itself, e.g. --cpu-prof), its memory sampled every 500 ms. */
export async function startWorkerProcess(
  env: Record<string, string>,
  args: string[] = [],
  nodeArgs: string[] = [],
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [...nodeArgs, path.join(projectRoot, 'bin', 'sdw-etl.js'), 'worker', ...args], {
    // Two malloc arenas, as docs/operations.md asks of every worker's host.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', MALLOC_ARENA_MAX: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const workerStartCapMs = 10 * 60_000;
  // The last 20 kB of the worker's output: enough to say why it stopped, bounded however long it runs.
  let output = '';
  const spawnedAt = Date.now();
  let pollingAt: number | undefined;
  const keep = (d: Buffer): void => {
    output = (output + d.toString()).slice(-20_000);
    if (pollingAt === undefined && output.includes('Worker polling')) pollingAt = Date.now();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssOf(child.pid!))), 500);
  child.once('exit', () => clearInterval(sampler));
  // The wait ends as soon as the worker polls or exits (checked every 100 ms; the start is timed as the line comes);
  // the cap only stops a hung start, minutes on a machine busy with other work, from hanging its caller.
  for (let i = 0; i < workerStartCapMs / 100 && pollingAt === undefined; i++) {
    if (child.exitCode !== null) break;
    await sleep(100);
  }
  if (pollingAt === undefined) {
    clearInterval(sampler);
    child.kill('SIGKILL');
    throw new Error(`The worker did not start:\n${output}`);
  }
  return {
    process: child,
    startSeconds: (pollingAt - spawnedAt) / 1000,
    output: () => output,
    peakRss: () => peak,
    stop: async () => {
      clearInterval(sampler);
      await stopProcess(child);
    },
  };
}

export interface BenchEnvironment {
  dir: string;
  server: DevServer;
  bankApi: BankApiSimulator;
  llm: LlmSimulator;
  worker: WorkerProcess;
  client: Client;
  taskQueue: string;
  /** Starts a run of customers 2 … count+1 (user 1 is the one the API refuses to update). */
  startRun: (
    count: number,
    options: { concurrency: number; batchSize: number; pageSize: number },
  ) => Promise<WorkflowHandleWithFirstExecutionRunId<typeof etlRun>>;
  stop: (keep?: boolean) => Promise<void>;
}

/** A dev server of its own, the two simulators and one worker process: what the benchmark and the scale check run on. */
export async function startBenchEnvironment(options: {
  customers: number;
  apiLatencyMs: number;
  llmLatencyMs: number;
  workerArgs?: string[];
  /** More of the worker's environment (the benchmark's OTEL_EXPORTER_OTLP_ENDPOINT). */
  workerEnv?: Record<string, string>;
  /** Flags to the worker's Node (the benchmark's --cpu-prof). */
  workerNodeArgs?: string[];
  /** Encrypt every payload, as SDW_ETL_ENCRYPTION_KEY does, with a key made for the run. */
  encrypt?: boolean;
  /** The shared PostgreSQL store: records there, and each run's input streamed into it as the CLI does. */
  databaseUrl?: string;
}): Promise<BenchEnvironment> {
  const encryptionKey = options.encrypt ? `bench:${randomBytes(32).toString('base64')}` : undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sdw-etl-bench-'));
  const server = await startDevServer(path.join(dir, 'temporal.db'));
  const bankApi = await startBankApi({
    seed: generateCustomers(options.customers + 1, 1),
    faults: { latencyMs: options.apiLatencyMs },
  });
  const llm = await startLlm({ faults: { latencyMs: options.llmLatencyMs }, keepRequests: 0 });
  const taskQueue = 'sdw-etl-bench';
  const worker = await startWorkerProcess(
    {
      TEMPORAL_ADDRESS: server.address,
      SDW_TASK_QUEUE: taskQueue,
      SDW_DATA_DIR: path.join(dir, 'data'),
      SDW_INPUT_DIRS: dir,
      SDW_OUTPUT_DIR: dir,
      OPENAI_BASE_URL: llm.baseURL,
      OPENAI_API_KEY: 'sk-bench',
      ...(encryptionKey ? { SDW_ETL_ENCRYPTION_KEY: encryptionKey } : {}),
      ...(options.databaseUrl ? { SDW_DATABASE_URL: options.databaseUrl } : {}),
      ...options.workerEnv,
    },
    options.workerArgs,
    options.workerNodeArgs,
  );
  const client = new Client({
    connection: await Connection.connect({ address: server.address }),
    dataConverter: dataConverterFor(encryptionKey ? parseEncryptionKeys(encryptionKey) : undefined),
  });
  return {
    dir,
    server,
    bankApi,
    llm,
    worker,
    client,
    taskQueue,
    async startRun(count, runOptions) {
      const input = path.join(dir, `ids-${count}.csv`);
      const out = createWriteStream(input);
      out.write('UserID\n');
      for (let id = 2; id < count + 2; id++) if (!out.write(`${id}\n`)) await once(out, 'drain');
      out.end();
      await once(out, 'finish');
      const runId = newRunId();
      const inputStored = options.databaseUrl !== undefined;
      if (options.databaseUrl) {
        const store = await createPostgresStore(options.databaseUrl);
        await storeInput(store.inputRows, runId, input, path.basename(input)).finally(() => store.close());
      }
      return startRun(client, taskQueue, runId, {
        ...defaultRunOptions,
        ...runOptions,
        input,
        inputStored,
        // A campaign of its own: rounds on the same store would otherwise find every customer already loaded.
        campaign: runId,
        output: path.join(dir, 'SDW2023_final.json'),
        apiUrl: bankApi.url,
      });
    },
    async stop(keep = false) {
      await client.connection.close();
      await worker.stop();
      await server.stop();
      await bankApi.close();
      await llm.close();
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Saves a benchmark's figures under bench/results/, named by kind and date. */
export function saveResults(kind: string, figures: Record<string, unknown> & { date: string }): string {
  const resultsDir = path.join(projectRoot, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = path.join(resultsDir, `${kind}-${figures.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(figures, null, 2) + '\n');
  return file;
}
