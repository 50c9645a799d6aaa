// Captures the histories the replay tests check, from real runs on the test server:
//   npm run capture-histories
// Commit what it writes under test/histories/ after a workflow change (recapture all of them while sdw-etl is
// unreleased; once runs could be replaying, a change is a patch and the old histories stay).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { newRunId, startRun } from '../../src/client';
import type { CustomerRow } from '../../src/outcomes';
import { batchWorkflowId, defaultRunOptions } from '../../src/workflows/api';
import { llmBatchWorkflowId } from '../../src/workflows/llm-batch';
import { csvOf, downUrl, root, startPipeline, writeCsv, type Pipeline } from '../helpers';

/** The CSV rows of `ids`, the first on line `firstLine`. */
const rows = (firstLine: number, ids: number[]): CustomerRow[] => ids.map((id, i) => ({ id, line: firstLine + i }));

const historiesDir = path.join(root, 'test', 'histories');

const workflowIdsFile = path.join(historiesDir, 'workflow-ids.json');
mkdirSync(historiesDir, { recursive: true });
/** Which workflow id each history belongs to: replay needs it, and the CLI's JSON does not hold it. */
const workflowIds: Record<string, string> = {};

/** Saves a history in the Temporal CLI's JSON form, the one the Web UI downloads and the replayer reads. */

function save(pipeline: Pipeline, name: string, workflowId: string, runId?: string): void {
  const args = [
    'workflow',
    'show',
    '--address',
    pipeline.config.temporal.connection.address,
    '--workflow-id',
    workflowId,
  ];
  if (runId) args.push('--run-id', runId);
  const json = execFileSync(process.env.SDW_TEST_TEMPORAL_CLI!, [...args, '--output', 'json'], { encoding: 'utf8' });
  writeFileSync(path.join(historiesDir, `${name}.json`), json);
  workflowIds[`${name}.json`] = workflowId;
}

test('capture workflow histories from real runs', async () => {
  const pipeline = await startPipeline();
  try {
    const run = async (ids: number[], options: Partial<typeof defaultRunOptions & { apiUrl: string }> = {}) => {
      const runId = newRunId();
      const handle = await startRun(pipeline.client, pipeline.config.temporal.taskQueue, runId, {
        ...defaultRunOptions,
        apiUrl: pipeline.bankApi.url,
        input: writeCsv(pipeline.dir, csvOf(ids), `${runId}.csv`),
        output: path.join(pipeline.dir, `${runId}.json`),
        ...options,
      });
      await handle.result();
      return { runId, firstRunId: handle.firstExecutionRunId };
    };

    // Two pages of two rows: customers 2 and 3 loaded, then 999 unknown to the API and 2 again (set aside by the
    // page reader as a duplicate).
    const paged = await run([2, 3, 999, 2], { pageSize: 2 });
    save(pipeline, 'etl-run-continued-as-new', paged.runId, paged.firstRunId);
    save(pipeline, 'etl-run-last-page-and-export', paged.runId);
    save(pipeline, 'personalize-batch-loaded', batchWorkflowId(paged.runId, rows(2, [2, 3])));
    save(pipeline, 'personalize-batch-not-found', batchWorkflowId(paged.runId, rows(4, [999])));

    const down = await run([4], { apiUrl: await downUrl(), apiOutageWaitMs: 2000 });
    save(pipeline, 'etl-run-with-mock-fallback', down.runId);
    save(pipeline, 'personalize-batch-mock-fallback', batchWorkflowId(down.runId, rows(2, [4])));

    // Started as from the Web UI: only the CSV, no search attributes, so the run tags itself.
    const fromUi = `ui-${newRunId()}`;
    await pipeline.client.workflow.execute('etlRun', {
      taskQueue: pipeline.config.temporal.taskQueue,
      workflowId: fromUi,
      args: [
        {
          input: writeCsv(pipeline.dir, csvOf([5]), `${fromUi}.csv`),
          output: path.join(pipeline.dir, `${fromUi}.json`),
        },
      ],
    });
    save(pipeline, 'etl-run-started-from-web-ui', fromUi);

    // Batch mode: the page's messages through the Batch API, one of its lines failed (that customer goes sync).
    pipeline.llm.faults.batchLineErrorRate = 0.34;
    const batched = await run([6, 7, 8], { llmMode: 'batch' });
    save(pipeline, 'etl-run-llm-batch-mode', batched.runId);
    save(pipeline, 'llm-batch-completed', llmBatchWorkflowId(batched.runId, rows(2, [6, 7, 8])));

    pipeline.llm.faults.rejectKey = true;
    const templated = await run([1]);
    save(pipeline, 'personalize-batch-template-and-rejected-load', batchWorkflowId(templated.runId, rows(2, [1])));
    writeFileSync(workflowIdsFile, JSON.stringify(workflowIds, null, 2) + '\n');
  } finally {
    await pipeline.close();
  }
});
