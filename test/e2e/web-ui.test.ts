import { readFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Browser } from 'playwright-core';
import type { Customer } from '../../src/customer';
import { runHandle } from '../../src/client';
import { searchAttributes } from '../../src/workflows/api';
import { launchBrowser, newPage, screenshot } from '../browser';
import { csvOf, downUrl, startPipeline, writeCsv, type Pipeline } from '../helpers';

const webUi = (): string => {
  const url = process.env.SDW_TEST_TEMPORAL_UI_URL;
  if (!url)
    throw new Error('The test Temporal server has no Web UI (jest global setup sets SDW_TEST_TEMPORAL_UI_URL).');
  return url;
};

describe('starting a run from the Temporal Web UI', () => {
  let pipeline: Pipeline;
  let browser: Browser;
  beforeAll(async () => {
    pipeline = await startPipeline({ offline: true });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await pipeline?.close();
  });

  test('a person types the workflow, the task queue and plain JSON input, starts it, and sees it complete', async () => {
    const runId = `ui-${randomUUID().slice(0, 8)}`;
    const output = path.join(pipeline.dir, `${runId}-SDW2023_final.json`);
    // What the README's example shows: the CSV and the export; everything else takes its default.
    const input = JSON.stringify({ input: writeCsv(pipeline.dir, csvOf([2, 3]), `${runId}.csv`), output });

    const { page, errors } = await newPage(browser);
    await page.goto(`${webUi()}/namespaces/default/workflows/start-workflow`);
    await page.locator('#workflowId').fill(runId);
    await page.locator('#taskQueue').fill(pipeline.config.temporal.taskQueue);
    await page.locator('#workflowType').fill('etlRun');
    await page.locator('.cm-content').click();
    await page.keyboard.insertText(input); // typed as is: the editor's bracket completion is not involved
    // Leaving the editor lets the form take the input (it reformats it) before Start is pressed.
    await page.getByRole('heading', { name: 'Start a Workflow' }).click();
    await page.getByTestId('start-workflow-button').click();

    // The UI confirms; the run's page shows Completed once the run is done.
    await page.getByText('Workflow started successfully').waitFor();
    await page.goto(`${webUi()}/namespaces/default/workflows/${runId}`);
    const completed = page.getByText('Completed', { exact: true }).first();
    for (let reloads = 0; !(await completed.isVisible()); reloads++) {
      if (reloads === 6) throw new Error(`The Web UI never showed run ${runId} as Completed.`);
      await page.reload();
      await completed.waitFor({ timeout: 10_000 }).catch(() => undefined);
    }
    await screenshot(page, 'web-ui-run-completed');

    const summary = await runHandle(pipeline.client, runId).result();
    expect(summary.counts).toMatchObject({ rows: 2, loaded: 2, failed: 0 });
    expect((JSON.parse(readFileSync(output, 'utf8')) as Customer[]).map((u) => u.id)).toEqual([2, 3]);
    // Started without search attributes, the run tagged itself, so "SdwRunId = ..." finds it in the Web UI.
    const described = await runHandle(pipeline.client, runId).describe();
    expect(described.typedSearchAttributes.get(searchAttributes.runId)).toBe(runId);
    expect(errors).toEqual([]);
  });

  test("the Web UI lists the batches of a run that fell back to mock data, and finds a customer's batch", async () => {
    const fellBack = await pipeline.run(csvOf([4, 5]), { apiUrl: await downUrl(), apiOutageWaitMs: 2000 }); // the API never answers
    const fromApi = await pipeline.run(csvOf([6]));
    const mockBatch = `${fellBack.runId}/lines-2-3`;
    const { page, errors } = await newPage(browser);
    const listing = (query: string) =>
      page.goto(`${webUi()}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
    const listed = (id: string) => page.getByRole('link', { name: id, exact: true });

    await listing(`SdwRunId = "${fellBack.runId}" AND SdwCustomerSources = "mock"`);
    await listed(mockBatch).waitFor();
    await screenshot(page, 'web-ui-mock-fallback-filter');
    await expect(listed(fellBack.runId).count()).resolves.toBe(0);
    await expect(listed(`${fromApi.runId}/lines-2-2`).count()).resolves.toBe(0);

    await listing(`SdwRunId = "${fellBack.runId}" AND SdwCustomerIds = "5"`);
    await listed(mockBatch).waitFor();
    await listing(`SdwCustomerSources = "mock" AND SdwRunId = "${fromApi.runId}"`);
    await page
      .getByText(/no results/i)
      .first()
      .waitFor();
    expect(errors).toEqual([]);
  });
});
