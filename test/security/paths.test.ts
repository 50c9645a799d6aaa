// Paths from a run never reach past the worker's folders: a run id that could climb out of the data folder, an input
// outside SDW_INPUT_DIRS or an output outside SDW_OUTPUT_DIR (symlinks followed) fails at once and writes nothing,
// whether the run was started by the sdw-etl command or directly in Temporal (as the Web UI allows).
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { cliEnv, csvOf, sdwEtl, seed, startPipeline, writeCsv, type Pipeline } from '../helpers';

const newsOf = (id: number): unknown => seed().find((u) => u.id === id)!.news;

/** The innermost cause's message of a failed workflow: the activity's own sentence. */
function rootMessage(err: unknown): string {
  let cause = err as Error;
  while (cause.cause instanceof Error) cause = cause.cause;
  return cause.message;
}

describe('run ids never become paths unchecked', () => {
  let pipeline: Pipeline;
  beforeAll(async () => {
    pipeline = await startPipeline({ offline: true });
  });
  afterAll(async () => {
    await pipeline.close();
  });

  test.each(['../escaped-run', 'a/../../escaped-run', '..'])(
    'a run started in Temporal with the id %p fails before reading anything',
    async (workflowId) => {
      const failure: unknown = await pipeline.client.workflow
        .execute('etlRun', {
          taskQueue: pipeline.config.temporal.taskQueue,
          workflowId,
          args: [{ input: writeCsv(pipeline.dir, csvOf([2])), output: path.join(pipeline.dir, 'out.json') }],
        })
        .catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect((failure as WorkflowFailedError).cause?.message).toBe(
        `The run id "${workflowId}" must be 1 to 100 letters, digits, dots, dashes or underscores, starting with a letter or digit.`,
      );
      expect(existsSync(path.join(pipeline.config.dataDir, 'escaped-run'))).toBe(false);
      expect(existsSync(path.join(path.dirname(pipeline.config.dataDir), 'escaped-run'))).toBe(false);
      expect(pipeline.bankApi.users.get(2)!.news).toEqual([]);
    },
  );
});

describe('a run reads and writes only inside the worker folders', () => {
  let pipeline: Pipeline;
  // Outside the tests' scratch folder, which is all a test worker may read and write.
  let outside: string;
  let outsideCsv: string;
  const inputs = (p: Pipeline): string => p.config.folders.inputDirs.join(path.delimiter);
  const outputs = (p: Pipeline): string => p.config.folders.outputDirs.join(path.delimiter);
  beforeAll(async () => {
    pipeline = await startPipeline({ offline: true });
    outside = mkdtempSync(path.join(os.tmpdir(), 'sdw-etl-outside-'));
    outsideCsv = writeCsv(outside, csvOf([5]), 'elsewhere.csv');
  });
  afterAll(async () => {
    await pipeline.close();
    rmSync(outside, { recursive: true, force: true });
  });

  const startedInTemporal = (workflowId: string, input: string, output: string): Promise<unknown> =>
    pipeline.client.workflow
      .execute('etlRun', { taskQueue: pipeline.config.temporal.taskQueue, workflowId, args: [{ input, output }] })
      .catch((err: unknown) => err);

  test('started in Temporal: an input outside SDW_INPUT_DIRS, even through a symlink, fails the run at once', async () => {
    const link = path.join(pipeline.dir, 'innocent.csv');
    symlinkSync(outsideCsv, link);
    for (const [runId, input] of [
      ['outside-input', outsideCsv],
      ['linked-input', link],
    ] as const) {
      const failure = await startedInTemporal(runId, input, path.join(pipeline.dir, `${runId}.json`));
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect(rootMessage(failure)).toBe(
        `The input ${input} is outside the folders this worker reads (SDW_INPUT_DIRS: ${inputs(pipeline)}).`,
      );
      expect(existsSync(path.join(pipeline.dir, `${runId}.json`))).toBe(false);
    }
    expect(pipeline.bankApi.users.get(5)!.news).toEqual(newsOf(5));
  });

  test('started in Temporal: an output outside SDW_OUTPUT_DIR, even through a symlinked folder, fails before any load', async () => {
    const input = writeCsv(pipeline.dir, csvOf([6]), 'inside.csv');
    const linkedFolder = path.join(pipeline.dir, 'linked-out');
    symlinkSync(outside, linkedFolder);
    for (const [runId, output] of [
      ['outside-output', path.join(outside, 'SDW2023_final.json')],
      ['linked-output', path.join(linkedFolder, 'SDW2023_final.json')],
    ] as const) {
      const failure = await startedInTemporal(runId, input, output);
      expect(rootMessage(failure)).toBe(
        `The output ${output} is outside the folder this worker writes (SDW_OUTPUT_DIR: ${outputs(pipeline)}).`,
      );
    }
    expect(pipeline.bankApi.users.get(6)!.news).toEqual(newsOf(6));
    expect(existsSync(path.join(outside, 'SDW2023_final.json'))).toBe(false);
  });

  test('the sdw-etl command refuses an input or output outside the folders before starting anything', async () => {
    const env = cliEnv(pipeline);
    const input = writeCsv(pipeline.dir, csvOf([7]), 'cli-inside.csv');
    const ranIn = await sdwEtl(['run', '--input', outsideCsv, '--id', 'cli-outside-input'], env, pipeline.dir);
    expect([ranIn.code, ranIn.stderr]).toEqual([
      1,
      `sdw-etl: The input ${outsideCsv} is outside the folders this worker reads (SDW_INPUT_DIRS: ${env.SDW_INPUT_DIRS}).\n`,
    ]);
    const output = path.join(outside, 'out.json');
    const ranOut = await sdwEtl(['run', '--input', input, '--output', output], env, pipeline.dir);
    expect([ranOut.code, ranOut.stderr]).toEqual([
      1,
      `sdw-etl: The output ${output} is outside the folder this worker writes (SDW_OUTPUT_DIR: ${env.SDW_OUTPUT_DIR}).\n`,
    ]);
    const started = await pipeline.client.workflow
      .getHandle('cli-outside-input')
      .describe()
      .catch(() => undefined);
    expect(started).toBeUndefined();
    expect(pipeline.bankApi.users.get(7)!.news).toEqual(newsOf(7));
  });

  test('--output replaces an earlier export, and any other file only with --force', async () => {
    const env = cliEnv(pipeline);
    const input = writeCsv(pipeline.dir, csvOf([8]), 'force.csv');
    const output = path.join(pipeline.dir, 'notes.json');
    writeFileSync(output, '{"mine": "do not lose me"}\n');
    const refused = await sdwEtl(['run', '--input', input, '--output', output], env, pipeline.dir);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      `sdw-etl: The output ${output} exists and is not an sdw-etl export; pass --force to replace it.\n`,
    ]);
    expect(readFileSync(output, 'utf8')).toBe('{"mine": "do not lose me"}\n');
    const forced = await sdwEtl(['run', '--input', input, '--output', output, '--force'], env, pipeline.dir);
    expect(forced.code).toBe(0);
    // Now an export: a run replaces it without --force.
    // (A campaign of its own: in the first one the customer is already loaded, and the export holds only new loads.)
    const again = await sdwEtl(
      ['run', '--input', input, '--output', output, '--campaign', 'force-again'],
      env,
      pipeline.dir,
    );
    expect([again.code, again.stderr]).toEqual([0, '']);
    expect((JSON.parse(readFileSync(output, 'utf8')) as { id: number }[]).map((u) => u.id)).toEqual([8]);
  });
});
