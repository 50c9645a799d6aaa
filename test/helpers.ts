// What the tests share: a config pointing at the test server, the simulators, a worker, and a way to run a list.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Info } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection } from '@temporalio/worker';
import { newRunId, startRun } from '../src/client';
import { dataConverterFor, type EncryptionKeys } from '../src/codec';
import type { Config } from '../src/config';
import type { Customer } from '../src/customer';
import type { CustomerOutcome } from '../src/outcomes';
import { defaultRunOptions, type RunOptions, type RunSummary } from '../src/workflows/api';
import {
  generateCustomers,
  loadSeed,
  startBankApi,
  type BankApiFaults,
  type BankApiSimulator,
} from '../src/simulators/bank-api';
import { startLlm, type LlmFaults, type LlmSimulator } from '../src/simulators/llm';
import { createWorker } from '../src/worker';
import type { AllowedFolders } from '../src/paths';

export const root = path.resolve(__dirname, '..');
export const seedFile = path.join(root, 'data', 'customers.json');
export const seed = (): Customer[] => loadSeed(seedFile);

const scratchRoot = (): string => process.env.SDW_TEST_SCRATCH ?? '/tmp';

export function scratchDir(): string {
  return mkdtempSync(path.join(scratchRoot(), 'case-'));
}

/** Workers in tests read and write anywhere under the tests' scratch folder, where every test keeps its files. */
export const scratchFolders = (): AllowedFolders => ({ inputDirs: [scratchRoot()], outputDirs: [scratchRoot()] });
/** The same folders as a worker process or the sdw-etl command reads them from the environment. */
export const scratchFolderEnv = (): Record<string, string> => ({
  SDW_INPUT_DIRS: scratchRoot(),
  SDW_OUTPUT_DIR: scratchRoot(),
});

export function writeCsv(dir: string, text: string, name = 'customers.csv'): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  const address = process.env.SDW_TEST_TEMPORAL_ADDRESS;
  if (!address)
    throw new Error('The test Temporal server is not running (jest global setup sets SDW_TEST_TEMPORAL_ADDRESS).');
  return {
    temporal: {
      connection: { address },
      namespace: 'default',
      taskQueue: `test-${randomUUID()}`,
      webUiUrl: 'http://127.0.0.1:8233',
    },
    apiUrl: 'http://127.0.0.1:1',
    llm: undefined,
    locale: 'pt-BR',
    dataDir: scratchDir(),
    databaseUrl: undefined,
    llmQuota: undefined,
    encryption: undefined,
    folders: scratchFolders(),
    retentionMs: undefined,
    ...overrides,
  };
}

export interface RunResult {
  summary: RunSummary;
  report: {
    counts: RunSummary['counts'];
    customers: CustomerOutcome[];
    invalidRows: { line: number; value: string; reason: string }[];
  };
  exported: Customer[] | undefined;
  runId: string;
}

/** A worker on its own task queue with real simulators around it: what a test file runs its lists through. */
export interface Pipeline {
  config: Config;
  bankApi: BankApiSimulator;
  llm: LlmSimulator;
  client: Client;
  dir: string;
  run(csv: string, options?: Partial<RunOptions>): Promise<RunResult>;
  close(): Promise<void>;
}

export async function startPipeline(
  options: {
    offline?: boolean;
    bankFaults?: Partial<BankApiFaults>;
    llmFaults?: Partial<LlmFaults>;
    encryption?: EncryptionKeys;
    /** The bank holds the seed and fictional customers after it up to this many (the seed alone when absent). */
    customers?: number;
    /** The shared PostgreSQL store instead of files (SDW_DATABASE_URL). */
    databaseUrl?: string;
  } = {},
): Promise<Pipeline> {
  const users = seed();
  const more = generateCustomers(Math.max(0, (options.customers ?? 0) - users.length), users.length + 1);
  const bankApi = await startBankApi({ seed: [...users, ...more], faults: options.bankFaults });
  const llm = await startLlm({ faults: options.llmFaults });
  const config = testConfig({
    apiUrl: bankApi.url,
    llm: options.offline
      ? undefined
      : { baseURL: llm.baseURL, apiKey: 'sk-test-key-for-the-simulator', model: 'gpt-4o-mini' },
    encryption: options.encryption,
    databaseUrl: options.databaseUrl,
  });
  const nativeConnection = await NativeConnection.connect(config.temporal.connection);
  const worker = await createWorker(config, {
    connection: nativeConnection,
    workflowBundle: {
      codePath: options.encryption
        ? process.env.SDW_TEST_WORKFLOW_BUNDLE_ENCRYPTED!
        : process.env.SDW_TEST_WORKFLOW_BUNDLE!,
    },
  });
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const running = worker.run(stopped);
  const connection = await Connection.connect(config.temporal.connection);
  const client = new Client({
    connection,
    namespace: config.temporal.namespace,
    dataConverter: dataConverterFor(config.encryption),
  });
  const dir = scratchDir();

  return {
    config,
    bankApi,
    llm,
    client,
    dir,
    async run(csv, runOptions = {}) {
      const runId = newRunId();
      const input = writeCsv(dir, csv, `${runId}.csv`);
      const handle = await startRun(client, config.temporal.taskQueue, runId, {
        ...defaultRunOptions,
        apiUrl: bankApi.url,
        output: path.join(dir, `${runId}-SDW2023_final.json`),
        input,
        ...runOptions,
      });
      const summary = await handle.result();
      const report = JSON.parse(readFileSync(summary.reportPath, 'utf8')) as RunResult['report'];
      const exported = summary.exportPath
        ? (JSON.parse(readFileSync(summary.exportPath, 'utf8')) as Customer[])
        : undefined;
      return { summary, report, exported, runId };
    },
    async close() {
      stop();
      await running;
      await nativeConnection.close();
      await connection.close();
      await bankApi.close();
      await llm.close();
    },
  };
}

/** The lowest port the system hands out to a server that asks for port 0. */
function ephemeralPortsFrom(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/**
 * The URL of a loopback port nothing listens on: an API that is down. The port lies below the ports handed out for
 * port 0, so no server that a test (of this run or of another run on the machine) starts meanwhile can take it; a
 * test may start its own server there later, as an API that comes back.
 */
export async function downUrl(): Promise<string> {
  const high = ephemeralPortsFrom();
  const low = high > 20_000 ? 10_000 : 1024;
  for (;;) {
    const port = low + Math.floor(Math.random() * (high - low));
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!free) continue;
    await new Promise((resolve) => server.close(resolve));
    return `http://127.0.0.1:${port}`;
  }
}

/** The environment that points the `sdw-etl` command at a test pipeline's server, task queue and bank API. */
export const cliEnv = (pipeline: Pipeline): Record<string, string> => ({
  TEMPORAL_ADDRESS: pipeline.config.temporal.connection.address,
  SDW_TASK_QUEUE: pipeline.config.temporal.taskQueue,
  SDW_API_URL: pipeline.bankApi.url,
  ...scratchFolderEnv(),
});

/** The histories of a run's batch workflows (from its latest run's child starts), read through `client`. */
export async function batchHistories(client: Client, runId: string): Promise<temporal.api.history.v1.IHistory[]> {
  const parent = await client.workflow.getHandle(runId).fetchHistory();
  const ids = (parent.events ?? []).flatMap(
    (e) => e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? [],
  );
  return Promise.all(ids.map((id) => client.workflow.getHandle(id).fetchHistory()));
}

export const csvOf = (ids: (number | string)[]): string => `UserID\n${ids.join('\n')}\n`;
export const byId = (outcomes: CustomerOutcome[]): Map<number, CustomerOutcome> =>
  new Map(outcomes.map((o) => [o.id, o]));

export interface ActivityEnv {
  run<A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A): Promise<R>;
  /** Cancels the activity running, as its workflow or the server would. */
  cancel(): void;
}

/** An activity context for unit tests; the SDK's failure lines at WARN would bury the output. */
export function activityEnv(info: Partial<Info> = {}): ActivityEnv {
  const env = new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
  return { run: (fn, ...args) => env.run(fn, ...args), cancel: () => env.cancel() };
}

/** The ApplicationFailure a promise rejects with (the test fails if it resolves or throws anything else). */
export async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await promise.then(
    () => new Error('expected a failure, got a result'),
    (e: unknown) => e,
  );
  if (!(err instanceof ApplicationFailure)) throw err;
  return err;
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `sdw-etl` command as a user would, with a clean environment but for what is given. */
export function sdwEtl(args: string[], env: Record<string, string>, cwd: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'sdw-etl.js'), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A new namespace on the test server, made the way an operator would, so it has none of sdw-etl's search attributes. */
export function createBareNamespace(prefix: string): string {
  const namespace = `${prefix}-${randomUUID().slice(0, 8)}`;
  const address = process.env.SDW_TEST_TEMPORAL_ADDRESS!;
  execFileSync(process.env.SDW_TEST_TEMPORAL_CLI!, [
    'operator',
    'namespace',
    'create',
    '-n',
    namespace,
    '--address',
    address,
  ]);
  return namespace;
}
