import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createFileStore } from '../../src/activities/store/files';
import { createActivities } from '../../src/activities';
import type { CustomerRecord } from '../../src/activities/store/store';
import { failureTypes } from '../../src/failures';
import { newOutcome, type CustomerOutcome } from '../../src/outcomes';
import { newsIcon } from '../../src/personalize';
import type { ReportOverview } from '../../src/report-digest';
import { activityEnv, failureOf, scratchDir, seed, writeCsv, scratchFolders } from '../helpers';

const users = new Map(seed().map((u) => [u.id, u]));
/** No campaign message reached the bank in these records. */
const nowhere = { campaign: 'ids', ids: [] };

function record(id: number, line: number, overrides: Partial<CustomerOutcome> = {}): CustomerRecord {
  const message = `Cliente ${id}, invista!`;
  const user = users.get(id)!;
  return {
    outcome: {
      id,
      line,
      status: 'loaded',
      source: 'api',
      messageSource: 'llm',
      message,
      model: 'gpt-4o-mini',
      tokens: { promptTokens: 40, completionTokens: 20 },
      attempts: { fetch: 1, write: 1, load: 1 },
      durationsMs: { fetch: 20, write: 300, load: 40 },
      error: null,
      stepErrors: {},
      ...overrides,
    },
    customer: { ...user, news: [...user.news!, { icon: newsIcon, description: message }] },
  };
}

describe('recordOutcomes and exportResults', () => {
  const env = activityEnv();

  test('export the users in CSV order with their new news item, and a report with every customer and bad row', async () => {
    const dir = scratchDir();
    const { recordOutcomes, exportResults } = createActivities({
      store: createFileStore(dir),
      apiUrl: 'http://127.0.0.1:1',
      llm: undefined,
      folders: scratchFolders(),
    });
    const input = writeCsv(dir, 'UserID\n4\nxyz\n2\n3\n4\n');
    const runId = 'run-export-1';
    // Records arrive in any order; the export follows the CSV.
    await env.run(recordOutcomes, {
      runId,
      records: [record(3, 5, { status: 'failed', error: { reason: 'api_rejected', message: '422' } })],
      loadedInto: nowhere,
    });
    await env.run(recordOutcomes, {
      runId,
      records: [record(2, 4, { messageSource: 'template', model: null })],
      loadedInto: nowhere,
    });
    await env.run(recordOutcomes, { runId, records: [record(4, 2)], loadedInto: nowhere });
    await env.run(recordOutcomes, { runId, records: [record(4, 2)], loadedInto: nowhere }); // a retried activity writes the same record again
    const output = path.join(dir, 'SDW2023_final.json');
    const result = await env.run(exportResults, {
      runId,
      input,
      output,
      sink: 'both',
      startedAt: '2026-11-25T10:00:00.000Z',
      cancelled: false,
      retryOf: null,
      campaign: 'ids',
      bankApiOutages: [],
    });

    const exported = JSON.parse(readFileSync(output, 'utf8')) as { id: number; news: { description: string }[] }[];
    expect(exported.map((u) => u.id)).toEqual([4, 2, 3]);
    expect(exported[0]!.news.at(-1)!.description).toBe('Cliente 4, invista!');
    const report = JSON.parse(readFileSync(result.reportPath, 'utf8')) as Record<string, unknown> & {
      customers: CustomerOutcome[];
    };
    expect(result.reportPath).toBe(path.join(dir, 'run-export-1.report.json'));
    expect(report).toMatchObject({
      runId,
      startedAt: '2026-11-25T10:00:00.000Z',
      counts: {
        rows: 5,
        invalid: 1,
        duplicates: 1,
        loaded: 2,
        failed: 1,
        skipped: 0,
        templated: 1,
        promptTokens: 120,
        completionTokens: 60,
      },
      invalidRows: [
        { line: 3, value: 'xyz', reason: 'not a whole number' },
        { line: 6, value: '4', reason: 'duplicate' },
      ],
    });
    expect(report.customers.map((c) => [c.id, c.status])).toEqual([
      [4, 'loaded'],
      [2, 'loaded'],
      [3, 'failed'],
    ]);
    // Only the two messages a priced model wrote cost money: 2 × (40 input + 20 output tokens) at gpt-4o-mini's prices.
    expect(result.estimatedCostUsd).toBeCloseTo((2 * (40 * 0.15 + 20 * 0.6)) / 1e6, 12);
  });

  test('a customer with no record (the run ended first) is reported not_processed, never dropped', async () => {
    const dir = scratchDir();
    const { exportResults } = createActivities({
      store: createFileStore(dir),
      apiUrl: 'http://127.0.0.1:1',
      llm: undefined,
      folders: scratchFolders(),
    });
    const input = writeCsv(dir, 'UserID\n8\n');
    const result = await env.run(exportResults, {
      runId: 'run-export-2',
      input,
      output: path.join(dir, 'out.json'),
      sink: 'file',
      startedAt: '',
      cancelled: false,
      retryOf: null,
      campaign: 'ids',
      bankApiOutages: [],
    });
    expect(result.counts).toMatchObject({ rows: 1, failed: 0, notProcessed: 1 });
    const report = JSON.parse(readFileSync(result.reportPath, 'utf8')) as { customers: CustomerOutcome[] };
    expect(report.customers[0]).toMatchObject({
      id: 8,
      status: 'not_processed',
      error: { reason: 'not_processed' },
    });
    expect(JSON.parse(readFileSync(path.join(dir, 'out.json'), 'utf8'))).toEqual([]);
  });

  test('with --sink api there is no JSON export, only the report', async () => {
    const dir = scratchDir();
    const { exportResults } = createActivities({
      store: createFileStore(dir),
      apiUrl: 'http://127.0.0.1:1',
      llm: undefined,
      folders: scratchFolders(),
    });
    const input = writeCsv(dir, 'UserID\n8\n');
    const result = await env.run(exportResults, {
      runId: 'run-export-3',
      input,
      output: path.join(dir, 'out.json'),
      sink: 'api',
      startedAt: '',
      cancelled: false,
      retryOf: null,
      campaign: 'ids',
      bankApiOutages: [],
    });
    expect(result.exportPath).toBeNull();
    expect(existsSync(path.join(dir, 'out.json'))).toBe(false);
    expect(existsSync(result.reportPath)).toBe(true);
  });

  test('an output folder that does not exist is made (a run started from the Web UI may name one)', async () => {
    const dir = scratchDir();
    const { exportResults } = createActivities({
      store: createFileStore(dir),
      apiUrl: 'http://127.0.0.1:1',
      llm: undefined,
      folders: scratchFolders(),
    });
    const input = writeCsv(dir, 'UserID\n8\n');
    const output = path.join(dir, 'missing', 'SDW2023_final.json');
    const result = await env.run(exportResults, {
      runId: 'r',
      input,
      output,
      sink: 'both',
      startedAt: '',
      cancelled: false,
      retryOf: null,
      campaign: 'ids',
      bankApiOutages: [],
    });
    expect(result.exportPath).toBe(output);
    expect(existsSync(output)).toBe(true);
  });

  test('a read-only output folder is a final failure, found by trying (root passes permission checks)', async () => {
    const dir = scratchDir();
    const { exportResults } = createActivities({
      store: createFileStore(dir),
      apiUrl: 'http://127.0.0.1:1',
      llm: undefined,
      // The worker is allowed the folder: only trying to write there can find it refuses.
      folders: { ...scratchFolders(), outputDirs: ['/sys'] },
    });
    const input = writeCsv(dir, 'UserID\n8\n');
    // sysfs refuses new files to everyone, root included.
    const failure = await failureOf(
      env.run(exportResults, {
        runId: 'r',
        input,
        output: '/sys/SDW2023_final.json',
        sink: 'both',
        startedAt: '',
        cancelled: false,
        retryOf: null,
        campaign: 'ids',
        bankApiOutages: [],
      }),
    );
    expect(failure).toMatchObject({ type: failureTypes.exportFailed, nonRetryable: true });
    expect(failure.message).toBe('The output folder /sys cannot be created or is not writable.');
  });

  test('an export that fails half-way leaves the previous export intact and no partial file', async () => {
    const dir = scratchDir();
    const { exportResults } = createActivities({
      store: createFileStore(dir),
      apiUrl: 'http://127.0.0.1:1',
      llm: undefined,
      folders: scratchFolders(),
    });
    const output = path.join(dir, 'SDW2023_final.json');
    writeFileSync(output, '[{"previous": true}]');
    // The export opens its temporary file, then finds the CSV has no UserID column.
    const input = writeCsv(dir, 'NoUserIdHere\n8\n');
    await failureOf(
      env.run(exportResults, {
        runId: 'r',
        input,
        output,
        sink: 'both',
        startedAt: '',
        cancelled: false,
        retryOf: null,
        campaign: 'ids',
        bankApiOutages: [],
      }),
    );
    expect(readFileSync(output, 'utf8')).toBe('[{"previous": true}]');
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  test('a cancelled run of 50,000 rows: the rows it never read are not_processed, and its HTML report stays under 10 MB', async () => {
    const dir = scratchDir();
    const store = createFileStore(dir);
    const { exportResults } = createActivities({
      store,
      apiUrl: 'http://127.0.0.1:1',
      llm: undefined,
      folders: scratchFolders(),
    });
    const rows = 50_000;
    const ids = Array.from({ length: rows }, (_, i) => i + 1);
    const input = writeCsv(dir, `UserID\n${ids.join('\n')}\nnot-an-id\n`);
    // The run read one page of 100 rows and finished them before it was cancelled: 99 loaded, one failed.
    await store.saveRecords(
      'run-cancelled',
      ids.slice(0, 100).map((id) => ({
        outcome: {
          ...newOutcome(id, id + 1),
          status: id === 1 ? ('failed' as const) : ('loaded' as const),
          source: 'api' as const,
          durationsMs: { fetch: id, write: 10, load: 5 },
          error: id === 1 ? { reason: 'api_rejected', message: 'refused' } : null,
        },
        customer: null,
      })),
    );
    const result = await env.run(exportResults, {
      runId: 'run-cancelled',
      input,
      output: path.join(dir, 'out.json'),
      sink: 'file',
      startedAt: '',
      cancelled: true,
      retryOf: null,
      campaign: 'ids',
      bankApiOutages: [],
      rowsRead: 100,
    });
    expect(result.counts).toMatchObject({
      rows: rows + 1,
      loaded: 99,
      failed: 1,
      notProcessed: rows - 100,
      invalid: 1,
    });
    const report = JSON.parse(readFileSync(result.reportPath, 'utf8')) as { customers: CustomerOutcome[] };
    expect(report.customers).toHaveLength(rows);
    expect(report.customers[rows - 1]).toMatchObject({
      status: 'not_processed',
      error: { message: 'The run was cancelled before this customer was processed.' },
    });
    // The full list is past the HTML report's bound: the page lists customers that need attention, the failed
    // one first, and its overview still counts every customer.
    expect(statSync(result.reportPath).size).toBeGreaterThan(10 * 2 ** 20);
    expect(statSync(result.htmlReportPath).size).toBeLessThan(10 * 2 ** 20);
    const html = readFileSync(result.htmlReportPath, 'utf8');
    const embedded = JSON.parse(
      /<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1]!,
    ) as { customers: CustomerOutcome[]; overview: ReportOverview };
    expect(embedded.overview).toMatchObject({ customersShown: 'attention', customers: rows, fromApi: 100 });
    expect(embedded.overview.customersListed).toBe(embedded.customers.length);
    expect(embedded.customers[0]).toMatchObject({ id: 1, status: 'failed' });
    expect(embedded.customers.slice(1).every((c) => c.status === 'not_processed')).toBe(true);
    expect(embedded.overview.reasons).toEqual([
      ['not_processed', rows - 100],
      ['(loaded, nothing to report)', 99],
      ['api_rejected', 1],
    ]);
    expect(embedded.overview.stages.fetch).toMatchObject({ count: 100, p50: 50, p95: 95, max: 100 });
  });
});
