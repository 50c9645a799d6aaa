import { emptyCounts, newOutcome } from '../../src/outcomes';
import { htmlReport, reportAsTable, reported, type RunReport } from '../../src/report';

const report = (overrides: Partial<RunReport> = {}): RunReport => ({
  runId: 'r1',
  startedAt: '2026-11-25T10:00:00.000Z',
  endedAt: '2026-11-25T10:00:01.000Z',
  state: 'completed',
  retryOf: null,
  campaign: 'ids',
  input: 'ids.csv',
  export: 'out.json',
  sink: 'both',
  counts: { ...emptyCounts(), rows: 2, failed: 1, invalid: 1 },
  estimatedCostUsd: 0,
  pricesTakenOn: '2024-07-18',
  bankApiOutages: [],
  madeFrom: 'export',
  invalidRows: [{ line: 3, value: '\x1b[2J\x1b[31mgotcha', reason: 'not a whole number' }],
  customers: [
    reported({ ...newOutcome(7, 2), error: { reason: 'api_unavailable', message: 'bank said \x07\x1b]0;title\x07' } }),
  ],
  ...overrides,
});

describe('the report as a table and as HTML', () => {
  test('text from the CSV or the bank API reaches the terminal without its control characters', () => {
    const table = reportAsTable(report());
    expect(table).not.toMatch(/\p{Cc}(?<!\n)/u);
    expect(table).toContain('"?[2J?[31mgotcha" not a whole number');
    expect(table).toMatch(/^ +7 +2 failed .* api_unavailable$/m);
  });

  test('the HTML report embeds the report so that no string in it can close its script tag', async () => {
    const html = await htmlReport(report({ input: '</script><script>alert(1)</script>' }));
    expect(html.match(/<\/script>/g)).toHaveLength(2); // the data's and the page's own
    const data = /<script id="report-data" type="application\/json">([\s\S]*?)<\/script>/.exec(html)![1]!;
    expect((JSON.parse(data) as RunReport).input).toBe('</script><script>alert(1)</script>');
  });
});
