import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { root } from '../helpers';

const historiesDir = path.join(root, 'test', 'histories');
const histories = readdirSync(historiesDir)
  .filter((f) => f.endsWith('.json') && f !== 'workflow-ids.json')
  .sort();
const workflowIds = JSON.parse(readFileSync(path.join(historiesDir, 'workflow-ids.json'), 'utf8')) as Record<
  string,
  string
>;
const load = (file: string): unknown => JSON.parse(readFileSync(path.join(historiesDir, file), 'utf8'));
const workflowBundle = { codePath: process.env.SDW_TEST_WORKFLOW_BUNDLE! };

describe('replaying histories captured from real runs', () => {
  test('there is a history of every workflow, including a continue-as-new and the fallbacks', () => {
    expect(histories).toEqual(
      expect.arrayContaining([
        'etl-run-continued-as-new.json',
        'etl-run-last-page-and-export.json',
        'etl-run-with-mock-fallback.json',
        'etl-run-started-from-web-ui.json',
        'personalize-batch-loaded.json',
        'personalize-batch-not-found.json',
        'personalize-batch-mock-fallback.json',
        'personalize-batch-template-and-rejected-load.json',
        'etl-run-llm-batch-mode.json',
        'llm-batch-completed.json',
      ]),
    );
  });

  test.each(histories)('%s replays on today’s workflow code without a determinism violation', async (file) => {
    await expect(Worker.runReplayHistory({ workflowBundle }, load(file), workflowIds[file])).resolves.toBeUndefined();
  });

  test('a workflow changed in a breaking way fails replay, so CI catches it before production does', async () => {
    const changed = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, 'breaking-change-workflows.ts'),
      logger: {
        log: () => undefined,
        trace: () => undefined,
        debug: () => undefined,
        info: () => undefined,
        warn: () => undefined,
        error: () => undefined,
      },
    });
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: changed },
        load('personalize-batch-loaded.json'),
        workflowIds['personalize-batch-loaded.json'],
      ),
    ).rejects.toBeInstanceOf(DeterminismViolationError);
  });
});
