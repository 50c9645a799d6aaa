// The export: SDW2023_final.json (the users in CSV order, each with its new news item) and the run's reports, built
// from the CSV and the record store in one streaming pass, so memory stays flat whatever the list's length.
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { failureTypes } from '../failures';
import { canWriteIn, gathered, writeAtomically, type Put } from '../files';
import { emptyCounts, notProcessed, tally, type InvalidRow } from '../outcomes';
import { batchSavingUsd, pricesTakenOn } from '../pricing';
import { reported, reportPathFor, type ReportedCustomer } from '../report';
import { ReportDigest } from '../report-digest';
import type { BankApiOutage, RunSummary, SinkChoice } from '../workflows/api';
import { runInputRows, type CsvRow, type RunInput } from './extract';
import { activityFailure } from './failure';
import { writeReportFiles } from './report-files';
import { exportsUsers } from './sinks';
import type { CustomerRecord, RecordStore } from './store/store';

export interface ExportInput extends RunInput {
  output: string;
  sink: SinkChoice;
  startedAt: string;
  /** The run was cancelled: customers it did not reach are reported as such. */
  cancelled: boolean;
  retryOf: string | null;
  campaign: string;
  bankApiOutages: BankApiOutage[];
  /** Rows the run's pages read: the rows after them were never reached, so no record of theirs is looked for. */
  rowsRead?: number;
  /** Batch mode: replies with an unknown or repeated custom_id, ignored. */
  llmRepliesIgnored?: number;
}

export type ExportResult = Omit<RunSummary, 'runId' | 'startedAt'>;

/**
 * Records asked of the store in one read, the next rows' read under way while these rows are written: reading them
 * one at a time made the export slow, and a read of many costs PostgreSQL one round trip instead of one each.
 */
const recordsPerRead = 256;
/** The export reports its progress every so many rows (the activity heartbeats, so a dead worker's export restarts within seconds). */
const progressEveryRows = 1000;

/** Writes the export (unless the run's sinks have none) and both reports, each atomically. */
export async function exportResults(
  store: RecordStore,
  input: ExportInput,
  onProgress: (rows: number) => void = () => undefined,
): Promise<ExportResult> {
  const folder = path.dirname(input.output);
  // A run started from the Web UI may name a folder no one made yet.
  await mkdir(folder, { recursive: true }).catch(() => undefined);
  if (!(await canWriteIn(folder))) {
    throw activityFailure(
      failureTypes.exportFailed,
      `The output folder ${folder} cannot be created or is not writable.`,
      {
        nonRetryable: true,
      },
    );
  }
  const exportFile = exportsUsers(input.sink) ? input.output : null;
  const reportFile = reportPathFor(input.output, input.runId);
  // The report's customers, as JSON lines, until the report is written around them.
  const customersFile = `${reportFile}.customers.part`;
  const counts = emptyCounts();
  const invalidRows: InvalidRow[] = [];
  let estimatedCostUsd = 0;
  let batchSaving = 0;
  const digest = new ReportDigest();

  const notReached = notReachedCustomer(input.cancelled);
  /** One pass over the CSV writes the users (when there is an export) and the report's customer list side by side. */
  const scan = async (userFile: Put | null, customersFile: Put): Promise<void> => {
    const users = userFile && gathered(userFile);
    const customers = gathered(customersFile);
    const putUser = users?.put ?? null;
    const putCustomer = customers.put;
    let firstCustomer = true;
    let firstUser = true;
    if (putUser) await putUser('[\n');
    const rows = withRecordsReadAhead(
      runInputRows(input, store.inputRows),
      (ids) => store.readRecords(input.runId, ids),
      input.rowsRead ?? Infinity,
    );
    for await (const { row, record: reading } of rows) {
      counts.rows += 1;
      if (counts.rows % progressEveryRows === 0) onProgress(counts.rows);
      if ('invalid' in row) {
        counts.invalid += 1;
        invalidRows.push(row.invalid);
        continue;
      }
      if (reading === null) {
        counts.duplicates += 1;
        invalidRows.push({ line: row.line, value: String(row.id), reason: 'duplicate' });
        continue;
      }
      const record = await reading;
      const customer = record ? reported(record.outcome) : notReached.customer;
      tally(counts, customer);
      estimatedCostUsd += customer.estimatedCostUsd;
      batchSaving += batchSavingUsd(customer.model, customer.tokens);
      const json = record ? JSON.stringify(customer) : notReached.json(row.id, row.line);
      digest.add(customer, json);
      await putCustomer(`${firstCustomer ? '' : ',\n'}    ${json}`);
      firstCustomer = false;
      if (putUser && record?.customer) {
        await putUser(`${firstUser ? '' : ',\n'}  ${JSON.stringify(record.customer)}`);
        firstUser = false;
      }
    }
    if (putUser) await putUser('\n]\n');
    await users?.flush();
    await customers.flush();
  };
  // Until its rename, a previous export stays intact.
  await writeAtomically(customersFile, (putCustomer) =>
    exportFile ? writeAtomically(exportFile, (putUser) => scan(putUser, putCustomer)) : scan(null, putCustomer),
  );

  const endedAt = new Date().toISOString();
  let htmlReportPath: string;
  try {
    htmlReportPath = await writeReportFiles(
      reportFile,
      {
        runId: input.runId,
        startedAt: input.startedAt,
        endedAt,
        state: input.cancelled ? 'cancelled' : 'completed',
        retryOf: input.retryOf,
        campaign: input.campaign,
        input: input.input,
        export: exportFile,
        sink: input.sink,
        counts,
        estimatedCostUsd,
        ...(batchSaving > 0 ? { batchSavingUsd: batchSaving } : {}),
        ...(input.llmRepliesIgnored ? { llmRepliesIgnored: input.llmRepliesIgnored } : {}),
        pricesTakenOn,
        bankApiOutages: input.bankApiOutages,
        madeFrom: 'export',
      },
      invalidRows,
      customersFile,
      digest,
    );
  } finally {
    await rm(customersFile, { force: true });
  }
  return {
    campaign: input.campaign,
    endedAt,
    counts,
    estimatedCostUsd,
    ...(batchSaving > 0 ? { batchSavingUsd: batchSaving } : {}),
    exportPath: exportFile,
    reportPath: reportFile,
    htmlReportPath,
    bankApiOutages: input.bankApiOutages,
  };
}

/**
 * A customer the run never reached, as the report has it: one outcome for all of them, and its JSON with each one's
 * id and line, made from a template (a cancelled run of a million rows writes about that many).
 */
function notReachedCustomer(cancelled: boolean): {
  customer: ReportedCustomer;
  json: (id: number, line: number) => string;
} {
  const customer = reported(notProcessed(0, 0, cancelled));
  const template = JSON.stringify(customer);
  const head = '{"id":0,"line":0,';
  if (!template.startsWith(head)) throw new Error('A not_processed outcome no longer starts with its id and line.');
  const rest = template.slice(head.length);
  return { customer, json: (id, line) => `{"id":${id},"line":${line},${rest}` };
}

type Reading = Promise<CustomerRecord | undefined>;
type ReadRow = { row: CsvRow; record: Reading | null };

/** The record of a row the run never reached: none, without asking the store. */
const neverReached: Reading = Promise.resolve(undefined);

/**
 * The CSV's rows in order, each first sighting of an id with its record being read (null for invalid rows and
 * repeated ids): the records of recordsPerRead rows are read at once, while the rows before them are written. Rows
 * after the first `rowsRead` were never reached: a cancelled run's export of a long list takes seconds, not a read
 * of every row's record.
 */
async function* withRecordsReadAhead(
  rows: AsyncIterable<CsvRow>,
  readMany: (ids: number[]) => Promise<Map<number, CustomerRecord>>,
  rowsRead: number,
): AsyncGenerator<ReadRow> {
  const seen = new Set<number>();
  let index = 0;
  const startReading = (chunk: { row: CsvRow; id: number | null }[]): ReadRow[] => {
    const ids = chunk.flatMap(({ id }) => (id === null || id < 0 ? [] : [id]));
    const read = ids.length > 0 ? readMany(ids) : Promise.resolve(new Map<number, CustomerRecord>());
    return chunk.map(({ row, id }) => {
      if (id === null) return { row, record: null };
      if (id < 0) return { row, record: neverReached };
      const record = read.then((records) => records.get(id));
      record.catch(() => undefined); // its failure is met when its row's turn comes, not as an unhandled rejection
      return { row, record };
    });
  };
  let chunk: { row: CsvRow; id: number | null }[] = [];
  let reading: ReadRow[] = [];
  for await (const row of rows) {
    const first = !('invalid' in row) && !seen.has(row.id);
    if (first) seen.add(row.id);
    // -1: a customer the run never reached, whose record is not looked for.
    const reached = ++index <= rowsRead;
    chunk.push({ row, id: first ? (reached ? row.id : -1) : null });
    if (chunk.length >= recordsPerRead) {
      const next = startReading(chunk);
      chunk = [];
      yield* reading;
      reading = next;
    }
  }
  yield* reading;
  yield* startReading(chunk);
}
