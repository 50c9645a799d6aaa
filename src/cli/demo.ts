// sdw-etl demo (npm start): the pipeline on the embedded default, from nothing running to a finished run.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { projectRoot, type Config } from '../config';
import { withRunFolders } from '../paths';
import { defaultRunOptions } from '../workflows/api';
import { loadSeed, startBankApi, type BankApiSimulator } from '../simulators/bank-api';
import { createWorker, installQuietLogging } from '../worker';
import { describeError, UsageError } from './context';
import { doctor } from './doctor';
import { RunFailedError, runCommand } from './run';
import { defaultSeedFile } from './simulate';

const isLocal = (host: string): boolean => ['127.0.0.1', 'localhost', '[::1]'].includes(host);

async function apiAnswers(apiUrl: string): Promise<boolean> {
  try {
    await fetch(`${apiUrl}/users/1`, { signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

/** A set-up failure doctor has already looked at. */
class SetUpChecked extends UsageError {}

/**
 * The pipeline on the embedded default: a local Temporal dev server, the bank API simulator (unless an API
 * answers at SDW_API_URL), a worker in this process, and data/SDW2023.csv run through end to end. When the set-up
 * fails rather than the run, sdw-etl doctor says what else is missing, while the worker and simulator still run.
 */
export async function demo(config: Config): Promise<number> {
  const output = path.join(projectRoot, defaultRunOptions.output);
  const checkSetUp = async (err: unknown): Promise<never> => {
    if (err instanceof RunFailedError || err instanceof SetUpChecked) throw err;
    console.error(`sdw-etl: ${describeError(err)}\nChecking the whole set-up (sdw-etl doctor):`);
    await doctor(config, { sampleId: 1, output });
    throw new SetUpChecked('npm start stopped: fix what doctor marks ✗ above, then run npm start again.');
  };
  let bankApi: BankApiSimulator | undefined;
  try {
    const temporalHost = config.temporal.connection.address.replace(/:\d+$/, '');
    if (isLocal(temporalHost)) {
      const started = spawnSync('bash', [path.join(projectRoot, 'scripts', 'dev-server.sh'), 'start'], {
        stdio: 'inherit',
      });
      if (started.status !== 0)
        throw new UsageError('The local Temporal dev server could not be started; see the lines above.');
    }
    if (!(await apiAnswers(config.apiUrl))) {
      const url = new URL(config.apiUrl);
      if (!isLocal(url.hostname)) throw new UsageError(`The bank API at ${config.apiUrl} does not answer.`);
      const stateFile = path.join(config.dataDir, 'bank-api-state.jsonl');
      bankApi = await startBankApi({ port: Number(url.port || 80), seed: loadSeed(defaultSeedFile), stateFile });
      console.log(`Bank API simulator on ${bankApi.url} (state in ${stateFile})`);
    }
    return await runWithWorker(config, output, checkSetUp);
  } catch (err) {
    return await checkSetUp(err);
  } finally {
    await bankApi?.close();
  }
}

/** A worker in this process and the run on it; a set-up failure is checked while the worker still polls. */
async function runWithWorker(
  config: Config,
  output: string,
  checkSetUp: (err: unknown) => Promise<never>,
): Promise<number> {
  // The worker's own chatter would bury the run's progress; warnings and errors still show.
  installQuietLogging();
  const input = path.join(projectRoot, 'data', 'SDW2023.csv');
  // The worker in this process is handed this run's folders, in memory: never a path from Temporal.
  const handed = { ...config, folders: withRunFolders(config.folders, input, output) };
  const worker = await createWorker(handed);
  mkdirSync(path.dirname(output), { recursive: true });
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const running = worker.run(done);
  try {
    return await runCommand(
      {
        ...defaultRunOptions,
        input,
        output,
      },
      handed,
    );
  } catch (err) {
    return await checkSetUp(err);
  } finally {
    finish();
    await running;
  }
}
