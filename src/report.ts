// A run's report: its JSON shape (the <runId>.report.json file), and the same report as a table and as HTML.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { batchSavingUsd, estimateCostUsd } from './pricing';
import { ReportDigest } from './report-digest';
import type { Counts, CustomerOutcome, InvalidRow } from './outcomes';
import type { BankApiOutage, SinkChoice } from './workflows/api';

export type ReportState = 'running' | 'completed' | 'cancelled' | 'failed' | 'terminated' | 'timed_out';

/** One customer in a report: its outcome and what its LLM call is estimated to have cost. */
export type ReportedCustomer = CustomerOutcome & { estimatedCostUsd: number };

export interface RunReport {
  runId: string;
  startedAt: string;
  endedAt: string | null;
  state: ReportState;
  retryOf: string | null;
  campaign: string;
  input: string;
  export: string | null;
  sink: SinkChoice;
  counts: Counts;
  estimatedCostUsd: number;
  /** Present when some tokens went through the Batch API: what they cost less than the same tokens sent sync. */
  batchSavingUsd?: number;
  /** Present when the Batch API returned replies with an unknown or repeated custom_id: how many were ignored. */
  llmRepliesIgnored?: number;
  pricesTakenOn: string;
  /** Times the bank API answered no one during the run. */
  bankApiOutages: BankApiOutage[];
  /** Where the report was made: by the run's export, or rebuilt afterwards from Temporal's history of the run. */
  madeFrom: 'export' | 'temporal';
  invalidRows: InvalidRow[];
  customers: ReportedCustomer[];
}

/** The report's head: everything but the two lists, which the export streams. */
export type ReportHead = Omit<RunReport, 'invalidRows' | 'customers'>;

const usd = (n: number): string => `US$ ${n.toFixed(n !== 0 && n < 0.01 ? 6 : 2)}`;

export const reported = (outcome: CustomerOutcome): ReportedCustomer => ({
  ...outcome,
  estimatedCostUsd: estimateCostUsd(
    outcome.model,
    outcome.tokens.promptTokens,
    outcome.tokens.completionTokens,
    outcome.tokens.pricing,
  ),
});

/** The report's cost fields for these customers: the cost, and the Batch API's saving when it saved anything. */
export function costOf(customers: Iterable<ReportedCustomer>): Pick<RunReport, 'estimatedCostUsd' | 'batchSavingUsd'> {
  let estimatedCostUsd = 0;
  let saving = 0;
  for (const customer of customers) {
    estimatedCostUsd += customer.estimatedCostUsd;
    saving += batchSavingUsd(customer.model, customer.tokens);
  }
  return saving > 0 ? { estimatedCostUsd, batchSavingUsd: saving } : { estimatedCostUsd };
}

/** The cost as the summary and the table show it, with the Batch API's saving when there is one. */
export const costLine = (cost: Pick<RunReport, 'estimatedCostUsd' | 'batchSavingUsd'>): string =>
  `estimated ${usd(cost.estimatedCostUsd)}` +
  (cost.batchSavingUsd ? ` (Batch API price: ${usd(cost.batchSavingUsd)} less than sync)` : '');

/** Where a run's JSON report goes: beside its export. */
export const reportPathFor = (output: string, runId: string): string =>
  path.join(path.dirname(output), `${runId}.report.json`);

export const htmlReportPathFor = (reportPath: string): string => reportPath.replace(/\.json$/, '.html');

/**
 * Text from outside (the CSV, the bank API, the LLM, an error, a path), safe for a terminal: control characters
 * (escape sequences, bells, line breaks), invisible format characters (zero-width spaces and joiners, soft hyphens)
 * and bidirectional overrides and isolates (U+202A-202E, U+2066-2069), which reorder what is read, become "?".
 */
export const printable = (text: string): string => text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]/gu, '?');

/** The report as text for a terminal: the summary, then one line per customer. */
export function reportAsTable(report: RunReport): string {
  const c = report.counts;
  const lines = [
    `Run ${printable(report.runId)}: ${report.state}${report.retryOf ? ` (retry of ${printable(report.retryOf)})` : ''}`,
    `  started ${report.startedAt}, ended ${report.endedAt ?? '-'}`,
    `  campaign ${printable(report.campaign)}, input ${printable(report.input)}, sink ${report.sink}, export ${printable(report.export ?? '-')}`,
    `  rows ${c.rows}: loaded ${c.loaded}${c.alreadyLoaded ? `, already loaded ${c.alreadyLoaded}` : ''}, skipped ${c.skipped}, failed ${c.failed}${c.notProcessed ? `, not processed ${c.notProcessed}` : ''}, invalid ${c.invalid}, duplicates ${c.duplicates}`,
    `  from mock ${c.fromMock}, template messages ${c.templated}`,
    `  tokens ${c.promptTokens} in + ${c.completionTokens} out, ${costLine(report)} (prices of ${report.pricesTakenOn})`,
    ...(report.llmRepliesIgnored
      ? [`  LLM batch replies ignored ${report.llmRepliesIgnored} (an unknown or repeated custom_id)`]
      : []),
    ...report.bankApiOutages.map(
      (o) =>
        `  bank API down from ${o.since} to ${o.until ?? 'the end of the run'}${o.gaveUp ? ': the run stopped waiting and applied its failure policies' : ': the run waited'}`,
    ),
    `  made from ${report.madeFrom === 'temporal' ? "Temporal's history of the run" : "the run's export"}`,
    '',
    '      id  line  status   data    by        attempts f/w/l  reason / message',
  ];
  for (const customer of report.customers) {
    const a = customer.attempts;
    lines.push(
      [
        String(customer.id).padStart(8),
        String(customer.line).padStart(5),
        customer.status.padEnd(8),
        (customer.source ?? '-').padEnd(7),
        (customer.messageSource ?? '-').padEnd(9),
        `${a.fetch}/${a.write}/${a.load}`.padEnd(15),
        printable(customer.error?.reason ?? customer.message ?? ''),
      ].join(' '),
    );
  }
  for (const row of report.invalidRows) lines.push(`  line ${row.line}: "${printable(row.value)}" ${row.reason}`);
  return lines.join('\n') + '\n';
}

const htmlTemplate = (): string => readFileSync(path.join(__dirname, '..', 'assets', 'report.html'), 'utf8');

/**
 * The HTML report: one self-contained file (no server, no network) holding the report's head, its overview and the
 * customers it lists (see report-digest.ts), and the page that draws them; under maxHtmlReportBytes whatever the
 * run's length.
 */
export async function writeHtmlReport(
  head: ReportHead,
  digest: ReportDigest,
  invalidRows: InvalidRow[],
  write: (text: string) => Promise<void>,
): Promise<void> {
  const [before, after] = htmlTemplate().split('/*REPORT_JSON*/');
  if (after === undefined) throw new Error('assets/report.html has no /*REPORT_JSON*/ placeholder.');
  const listed = digest.result(invalidRows);
  const data = JSON.stringify({ ...head, overview: listed.overview, invalidRows: listed.invalidRows });
  await write(before!);
  // "<" never appears in JSON outside strings, and inside them \u003c means the same: no "</script>" can end the data.
  const safe = (json: string): string => json.replaceAll('<', '\\u003c');
  await write(`${safe(data.replace(/}$/, ''))},"customers":[`);
  for (const [i, customer] of listed.customers.entries()) await write(`${i === 0 ? '' : ','}${safe(customer)}`);
  await write(`]}${after}`);
}

export async function htmlReport(report: RunReport): Promise<string> {
  const { invalidRows, customers, ...head } = report;
  const digest = new ReportDigest();
  for (const customer of customers) digest.add(customer);
  const parts: string[] = [];
  await writeHtmlReport(head, digest, invalidRows, (text) => {
    parts.push(text);
    return Promise.resolve();
  });
  return parts.join('');
}
