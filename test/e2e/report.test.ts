import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import type { RunReport } from '../../src/report';
import type { ReportOverview } from '../../src/report-digest';
import { launchBrowser, newPage, screenshot } from '../browser';
import { cliEnv, sdwEtl, startPipeline, type Pipeline, type RunResult } from '../helpers';

const hostileRow = '</script><img src=x onerror=window.injected=1>';

/** The embedded report of an HTML report file. */
function embeddedReport(html: string): RunReport {
  const match = /<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html);
  if (!match) throw new Error('no embedded report');
  return JSON.parse(match[1]!) as RunReport;
}

describe('sdw-etl report: any past run, rebuilt from Temporal, as a table, JSON or a self-contained HTML page', () => {
  let pipeline: Pipeline;
  let env: Record<string, string>;
  let run: RunResult;
  let fileReport: RunReport;
  beforeAll(async () => {
    pipeline = await startPipeline({ bankFaults: { latencyMs: 30 } });
    env = cliEnv(pipeline);
    // Pages of two rows: the run continues as new, and 3 comes back on a later page as a duplicate.
    // 1 is refused by the API (422), 999 does not exist, "abc" is not an id, and the last row is markup that
    // must stay text in the HTML report.
    run = await pipeline.run(`UserID\n2\n3\nabc\n1\n999\n3\n4\n${hostileRow}\n`, { pageSize: 2 });
    fileReport = JSON.parse(readFileSync(run.summary.reportPath, 'utf8')) as RunReport;
  });
  afterAll(async () => {
    await pipeline?.close();
  });

  test('the JSON rebuilt from Temporal is the report the run wrote, even once that file is gone', async () => {
    rmSync(run.summary.reportPath);
    const ran = await sdwEtl(['report', run.runId, '--format', 'json'], env, pipeline.dir);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    const rebuilt = JSON.parse(ran.stdout) as RunReport;
    expect(rebuilt).toEqual({ ...fileReport, madeFrom: 'temporal' });
    // What an auditor asks: which message, by which model, after how many attempts, at what cost, how long.
    const two = rebuilt.customers.find((c) => c.id === 2)!;
    expect(two).toMatchObject({ status: 'loaded', source: 'api', messageSource: 'llm' });
    expect(two.model).toMatch(/^gpt-4o-mini/); // the simulator answers as a dated variant, as OpenAI does
    expect(two.message).toEqual(expect.any(String));
    expect(two.estimatedCostUsd).toBeGreaterThan(0);
    expect(two.durationsMs.fetch).toBeGreaterThanOrEqual(30); // the bank simulator answers after 30 ms
    expect(rebuilt.customers.find((c) => c.id === 1)).toMatchObject({
      status: 'failed',
      error: { reason: 'api_rejected' },
    });
    expect(rebuilt.invalidRows.map((r) => [r.value, r.reason])).toEqual([
      ['abc', expect.any(String)],
      ['3', 'duplicate'],
      [hostileRow, expect.any(String)],
    ]);
    expect(rebuilt.estimatedCostUsd).toBeCloseTo(
      rebuilt.customers.reduce((sum, c) => sum + c.estimatedCostUsd, 0),
      12,
    );
  });

  test('the table lists the counts, the cost and every customer with its outcome', async () => {
    const ran = await sdwEtl(['report', run.runId], env, pipeline.dir);
    expect(ran.code).toBe(0);
    const c = fileReport.counts;
    expect(ran.stdout).toContain(
      `rows ${c.rows}: loaded ${c.loaded}, skipped ${c.skipped}, failed ${c.failed}, invalid ${c.invalid}, duplicates ${c.duplicates}`,
    );
    expect(ran.stdout).toContain("made from Temporal's history of the run");
    expect(ran.stdout).toMatch(/estimated US\$ 0\.\d+ \(prices of \d{4}-\d{2}-\d{2}\)/);
    expect(ran.stdout).toMatch(/^ +999 +6 failed +- +- +\d\/\d\/\d +not_found$/m);
  });

  test('the HTML report is written beside the JSON one, holds the same report, and needs nothing from a network', () => {
    const html = readFileSync(run.summary.htmlReportPath, 'utf8');
    expect(path.dirname(run.summary.htmlReportPath)).toBe(path.dirname(run.summary.reportPath));
    // A short run's page lists every customer, with the overview its charts draw.
    const { overview, ...embedded } = embeddedReport(html) as RunReport & { overview: ReportOverview };
    expect(embedded).toEqual(fileReport);
    expect(overview).toMatchObject({ customersShown: 'all', customers: fileReport.customers.length });
    // Nothing outside the embedded data loads anything (the data itself holds the CSV's markup, as text).
    const page = html.replace(/(<script id="report-data" type="application\/json">)[\s\S]*?(<\/script>)/, '$1$2');
    expect(page).not.toMatch(/\b(src|href)=|url\(|@import|fetch\(|XMLHttpRequest/);
  });

  // Only the page needs a browser: without one, the tests above and below still run.
  describe('in a browser', () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    test('a person opening the HTML report sees the summary, the outcomes, a histogram per stage and a sortable table', async () => {
      const { page, errors } = await newPage(browser);
      await page.goto(`file://${run.summary.htmlReportPath}`);
      await expect(page.locator('h1').textContent()).resolves.toContain(run.runId);
      await expect(page.locator('.card', { hasText: 'Loaded' }).locator('.n').textContent()).resolves.toBe(
        String(fileReport.counts.loaded),
      );
      await expect(page.locator('#outcome-legend').textContent()).resolves.toContain(
        `failed ${fileReport.counts.failed}`,
      );
      await expect(page.locator('#histograms svg').count()).resolves.toBe(3);
      await expect(page.locator('#histograms').textContent()).resolves.toMatch(/Fetch \(bank API\)\d+ customers · p50/);
      const ids = () => page.locator('#customers tbody tr td:first-child').allTextContents();
      await expect(ids()).resolves.toEqual(fileReport.customers.map((c) => String(c.id)));
      await page.locator('#customers th', { hasText: 'Id' }).click();
      await page.locator('#customers th', { hasText: 'Id' }).click(); // a second click sorts descending
      const descending = fileReport.customers.map((c) => c.id).sort((a, b) => b - a);
      await expect(ids()).resolves.toEqual(descending.map(String));
      await page.locator('#filter').fill('not_found');
      await expect(ids()).resolves.toEqual(['999']);
      await page.locator('#filter').fill('');
      await expect(page.locator('#invalid tbody tr').count()).resolves.toBe(fileReport.invalidRows.length);
      // Markup from the CSV is shown as text, never run.
      await expect(page.locator('#invalid').textContent()).resolves.toContain(hostileRow);
      await expect(page.evaluate('window.injected')).resolves.toBeUndefined();
      await expect(page.locator('img').count()).resolves.toBe(0);
      await screenshot(page, 'html-report');
      expect(errors).toEqual([]);
    });
  });

  test('--format html --out writes the rebuilt report to a file; bad input is one sentence and exit 1', async () => {
    const out = path.join(pipeline.dir, 'rebuilt.html');
    const ran = await sdwEtl(['report', run.runId, '--format', 'html', '--out', out], env, pipeline.dir);
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain(`written to ${out}`);
    const { overview, ...rebuilt } = embeddedReport(readFileSync(out, 'utf8')) as RunReport & {
      overview: ReportOverview;
    };
    expect(rebuilt).toEqual({ ...fileReport, madeFrom: 'temporal' });
    expect(overview).toMatchObject({ customersShown: 'all', customers: fileReport.customers.length });

    const unknown = await sdwEtl(['report', 'no-such-run'], env, pipeline.dir);
    expect([unknown.code, unknown.stderr.trim()]).toEqual([1, 'sdw-etl: No run with id no-such-run exists.']);
    const format = await sdwEtl(['report', run.runId, '--format', 'pdf'], env, pipeline.dir);
    expect([format.code, format.stderr.trim()]).toEqual([
      1,
      'sdw-etl: --format takes one of table, json, html, got "pdf".',
    ]);
    const missing = path.join(pipeline.dir, 'no-such-folder', 'r.html');
    const folder = await sdwEtl(['report', run.runId, '--out', missing], env, pipeline.dir);
    expect([folder.code, folder.stderr.trim()]).toEqual([
      1,
      `sdw-etl: The folder of ${missing} does not exist or is not writable.`,
    ]);
    expect(existsSync(missing)).toBe(false);
  });
});
