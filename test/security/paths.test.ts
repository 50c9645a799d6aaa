// A run id becomes a folder name on a worker's disk: one started directly in Temporal (as the Web UI allows) that
// could climb out of the data folder fails at once and writes nothing.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { csvOf, startPipeline, writeCsv, type Pipeline } from '../helpers';

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
