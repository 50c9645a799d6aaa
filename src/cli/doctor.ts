// sdw-etl doctor: every part a run needs, checked at once, each ✓ or ✗ with the fix in one sentence.
import path from 'node:path';
import { constants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import OpenAI from 'openai';
import type { Command } from 'commander';
import type { Client } from '@temporalio/client';
import { bankApiAnswers } from '../activities/bank-api';
import { createLlmClient } from '../activities/llm/client';
import { openRecordStore } from '../activities/store';
import { connectClient } from '../client';
import { loadConfig, parseUrl, type Config } from '../config';
import { canWriteIn } from '../files';
import { checkNamespace, noWorkerMessage, pollerIdentities, workerPolls } from '../temporal-checks';
import { keyFingerprints, keysProblem, parseIdentity, sdwEtlBuild } from '../worker-identity';
import { defaultRunOptions } from '../workflows/api';
import { action, colour, describeError, positiveInt } from './context';

/** What a check found: undefined when all is well, else the problem and its fix in one sentence. */
type Finding = string | undefined;
interface Check {
  name: string;
  run: () => Promise<Finding>;
}

const problemOf = async (work: () => Promise<unknown>): Promise<Finding> => {
  try {
    await work();
    return undefined;
  } catch (err) {
    return describeError(err);
  }
};

function temporalChecks(config: Config, client: Client | undefined, connectProblem: Finding): Check[] {
  const { address } = config.temporal.connection;
  const { namespace, taskQueue } = config.temporal;
  const needsServer = (run: (client: Client) => Promise<Finding>) => () =>
    client ? run(client) : Promise.resolve('not checked: Temporal does not answer.');
  return [
    { name: `Temporal answers at ${address}`, run: () => Promise.resolve(connectProblem) },
    {
      name: `namespace ${namespace} with sdw-etl's search attributes`,
      run: needsServer((c) => problemOf(() => checkNamespace(c.connection, config))),
    },
    {
      name: `a worker polls the task queue ${taskQueue}`,
      run: needsServer(async (c) => ((await workerPolls(c.connection, config)) ? undefined : noWorkerMessage(config))),
    },
    ...workerChecks(config, needsServer),
  ];
}

/** The workers' build and encryption keys, as their identities say them, against this command's. */
function workerChecks(
  config: Config,
  needsServer: (run: (client: Client) => Promise<Finding>) => () => Promise<Finding>,
): Check[] {
  const ownKeys = keyFingerprints(config.encryption);
  const eachWorker = (problem: (identity: string, worker: { build: string; keys: string }) => Finding) =>
    needsServer(async (c) => {
      const identities = await pollerIdentities(c.connection, config);
      if (identities.length === 0) return 'not checked: no worker polls the task queue.';
      for (const identity of identities) {
        const worker = parseIdentity(identity);
        const found = worker
          ? problem(identity, worker)
          : `worker ${identity} does not say its build and keys (not this sdw-etl): run npx sdw-etl worker from the same build.`;
        if (found) return found;
      }
      return undefined;
    });
  return [
    {
      name: `the workers run sdw-etl ${sdwEtlBuild}, as this command does`,
      run: eachWorker((identity, worker) =>
        worker.build === sdwEtlBuild
          ? undefined
          : `worker ${identity} runs sdw-etl ${worker.build}: deploy the same build to workers and clients.`,
      ),
    },
    {
      name: `the workers' encryption keys match this command's (${ownKeys === 'none' ? 'no encryption' : `keys ${ownKeys.replace(/:\w+/g, '')}`})`,
      run: eachWorker((identity, worker) => keysProblem(ownKeys, worker.keys, identity)),
    },
  ];
}

function llmCheck(config: Config): Check {
  if (!config.llm) return { name: 'no LLM set: offline template messages', run: () => Promise.resolve(undefined) };
  const { model, baseURL } = config.llm;
  const where = baseURL ?? 'OpenAI';
  return {
    name: `the LLM at ${where} answers with the key and offers ${model}`,
    run: async () => {
      try {
        const models = await createLlmClient(config.llm!).openai.models.list();
        if (models.data.some((m) => m.id === model)) return undefined;
        return `${where} does not offer the model ${model}: set OPENAI_MODEL to one it lists.`;
      } catch (err) {
        if (err instanceof OpenAI.AuthenticationError || err instanceof OpenAI.PermissionDeniedError)
          return `${where} refused the key (${err.status}): set OPENAI_API_KEY to a valid key.`;
        return `${where} does not answer: check OPENAI_BASE_URL and the network.`;
      }
    },
  };
}

/** Whether a folder takes new files, made first if it is missing (as a run's export makes it); else `problem`. */
async function folderTakesFiles(folder: string, problem: string): Promise<Finding> {
  await mkdir(folder, { recursive: true }).catch(() => undefined);
  return (await canWriteIn(folder)) ? undefined : problem;
}

/** Why a worker could not read lists from `folder`, or undefined when it can. */
async function inputFolderProblem(folder: string): Promise<Finding> {
  const list = 'SDW_INPUT_DIRS to the folders (separated by ":") that hold the lists';
  const found = await stat(folder).catch(() => undefined);
  if (!found) return `The input folder ${folder} does not exist: create it, or set ${list}.`;
  if (!found.isDirectory()) return `The input folder ${folder} is a file, not a folder: set ${list}.`;
  return access(folder, constants.R_OK | constants.X_OK).then(
    () => undefined,
    () => `The input folder ${folder} cannot be read by this user: fix its permissions, or set SDW_INPUT_DIRS.`,
  );
}

/** The folders a worker reads lists from (SDW_INPUT_DIRS) and writes exports and reports to (SDW_OUTPUT_DIR). */
function folderChecks(config: Config): Check[] {
  return [
    ...config.folders.inputDirs.map((folder) => ({
      name: `the input folder ${folder} (SDW_INPUT_DIRS) can be read`,
      run: () => inputFolderProblem(folder),
    })),
    ...config.folders.outputDirs.map((folder) => ({
      name: `the output folder ${folder} (SDW_OUTPUT_DIR) takes new files`,
      run: () =>
        folderTakesFiles(
          folder,
          `The output folder ${folder} cannot be created or written: fix its permissions, or set SDW_OUTPUT_DIR to a folder this user can write.`,
        ),
    })),
  ];
}

export interface DoctorFlags {
  apiUrl?: string;
  sampleId: number;
  output: string;
}

/** Runs every check, prints each ✓ or ✗ with its fix, and returns the exit code: 0 only when all pass. */
export async function doctor(config: Config, flags: DoctorFlags): Promise<number> {
  const apiUrl = flags.apiUrl === undefined ? config.apiUrl : parseUrl(flags.apiUrl, '--api-url');
  let client: Client | undefined;
  const connectProblem = await problemOf(async () => (client = await connectClient(config)));
  const folder = path.dirname(path.resolve(flags.output));
  const checks: Check[] = [
    ...temporalChecks(config, client, connectProblem),
    {
      name: `the bank API at ${apiUrl} answers GET /users/${flags.sampleId}`,
      run: async () =>
        (await bankApiAnswers(apiUrl, flags.sampleId))
          ? undefined
          : `The bank API at ${apiUrl} does not answer: start it, or set SDW_API_URL (or --api-url).`,
    },
    llmCheck(config),
    {
      name: config.databaseUrl ? 'the PostgreSQL record store answers' : `the record store folder ${config.dataDir}`,
      run: () =>
        problemOf(async () => {
          const store = await openRecordStore(config);
          try {
            await store.readRecord('sdw-etl-doctor', 1);
          } finally {
            await store.close?.();
          }
        }),
    },
    ...folderChecks(config),
    {
      name: `the --output folder ${folder} takes new files`,
      run: () =>
        folderTakesFiles(
          folder,
          `The output folder ${folder} cannot be written: choose another with --output, or fix its permissions.`,
        ),
    },
  ];
  let failed = 0;
  try {
    for (const check of checks) {
      const finding = await check.run();
      if (finding !== undefined) failed += 1;
      console.log(
        finding === undefined
          ? `${colour('✓', 'green')} ${check.name}`
          : `${colour('✗', 'red')} ${check.name}: ${finding}`,
      );
    }
  } finally {
    await client?.connection.close();
  }
  console.log(failed === 0 ? 'All checks passed.' : `${failed} of ${checks.length} checks failed.`);
  return failed === 0 ? 0 : 1;
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      "Check Temporal, the search attributes, the workers, the bank API, the LLM, the store, the workers' folders and the output.",
    )
    .option('--api-url <url>', 'the bank API (default: SDW_API_URL)')
    .option('--sample-id <id>', 'the customer id to ask the bank API for', positiveInt(Number.MAX_SAFE_INTEGER), 1)
    .option('--output <file>', 'the export a run would write', defaultRunOptions.output)
    .action(action((flags: DoctorFlags) => doctor(loadConfig(), flags)));
}
