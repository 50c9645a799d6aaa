import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import { Context, log } from '@temporalio/activity';
import type { Customer } from '../customer';
import { pricesTakenOn } from '../pricing';
import { htmlReportPathFor, reported, writeHtmlReport, type ReportHead } from '../report';
import {
  emptyCounts,
  failureTypes,
  newOutcome,
  tally,
  type Counts,
  type CustomerOutcome,
  type InvalidRow,
  type UserIdPage,
  type Sink,
} from '../shared';
import { readCsvRows, type CsvRow } from './extract';
import { activityFailure } from './failure';

/** What a customer's workflow leaves for the export: its outcome and, when there is one, the user to export. */
export interface CustomerRecord {
  outcome: CustomerOutcome;
  customer: Customer | null;
}

export interface ExportInput {
  runId: string;
  input: string;
  output: string;
  sink: Sink;
  startedAt: string;
  /** The run was cancelled: customers it did not reach are reported as such. */
  cancelled: boolean;
  retryOf: string | null;
}

export interface ExportResult {
  counts: Counts;
  estimatedCostUsd: number;
  exportPath: string | null;
  reportPath: string;
  htmlReportPath: string;
  endedAt: string;
}

const runDir = (dataDir: string, runId: string): string => path.join(dataDir, 'runs', runId);
const recordPath = (dataDir: string, runId: string, id: number): string =>
  path.join(runDir(dataDir, runId), 'customers', `${id}.json`);

export const reportPathFor = (output: string, runId: string): string =>
  path.join(path.dirname(output), `${runId}.report.json`);

/** Writes a file whole or not at all: a temporary file beside it, then a rename. */
async function writeAtomically(file: string, write: (out: WriteStream) => Promise<void>): Promise<void> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  const out = await openOut(tmp);
  try {
    await write(out);
    await finish(out);
    await rename(tmp, file);
  } catch (err) {
    await discard(out, tmp);
    throw err;
  }
}

async function put(out: WriteStream, text: string | Buffer): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** A write stream that is open and ready, so a failure cannot race with its opening. */
async function openOut(file: string): Promise<WriteStream> {
  const out = createWriteStream(file);
  await once(out, 'open');
  return out;
}

async function finish(out: WriteStream): Promise<void> {
  out.end();
  await once(out, 'finish');
}

/** Throws a half-written file away. */
async function discard(out: WriteStream | null, file: string | null): Promise<void> {
  if (out && !out.destroyed) {
    out.on('error', () => undefined);
    out.destroy();
    await once(out, 'close');
  }
  if (file) await rm(file, { force: true });
}

/** Saves one customer's record where the export will find it; the same call twice writes the same file. */
export async function recordOutcome(dataDir: string, runId: string, record: CustomerRecord): Promise<void> {
  const file = recordPath(dataDir, runId, record.outcome.id);
  await mkdir(path.dirname(file), { recursive: true });
  await writeTextAtomically(file, JSON.stringify(record));
}

/** Writes a small file whole or not at all: a temporary file beside it, then a rename. */
export async function writeTextAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/**
 * A page without the customers this run already processed from another line (an id repeated on a later page of the
 * CSV), which join its invalid rows as duplicates. Pages run one after the other, so the earlier line's record is
 * written by then.
 */
export async function setAsideProcessed(dataDir: string, runId: string, page: UserIdPage): Promise<UserIdPage> {
  const recorded = await Promise.all(page.ids.map((row) => readRecord(dataDir, runId, row.id)));
  const processed = page.ids.filter((row, i) => recorded[i] !== undefined && recorded[i].outcome.line !== row.line);
  if (processed.length === 0) return page;
  const lines = new Set(processed.map((row) => row.line));
  const duplicates = processed.map((row) => ({ line: row.line, value: String(row.id), reason: 'duplicate' }));
  return {
    ...page,
    ids: page.ids.filter((row) => !lines.has(row.line)),
    invalid: [...page.invalid, ...duplicates].sort((a, b) => a.line - b.line),
  };
}

async function readRecord(dataDir: string, runId: string, id: number): Promise<CustomerRecord | undefined> {
  try {
    return JSON.parse(await readFile(recordPath(dataDir, runId, id), 'utf8')) as CustomerRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Whether a file can be created in a folder, found by creating one: permission bits do not tell
 * (root passes them all, and a read-only file system refuses whatever they say).
 */
export async function canWriteIn(folder: string): Promise<boolean> {
  const probe = path.join(folder, `.sdw-etl-probe-${process.pid}-${Date.now()}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
    await rm(probe, { force: true });
    return true;
  } catch {
    return false;
  }
}

async function ensureWritableFolder(output: string): Promise<void> {
  const folder = path.dirname(output);
  if (!(await canWriteIn(folder))) {
    throw activityFailure(failureTypes.exportFailed, `The output folder ${folder} does not exist or is not writable.`, {
      nonRetryable: true,
    });
  }
}

/**
 * Writes SDW2023_final.json (the users in CSV order, each with its new news item) and the run's report,
 * each atomically, streaming the CSV once more so memory stays flat whatever its size.
 */
export async function exportResults(dataDir: string, input: ExportInput): Promise<ExportResult> {
  await ensureWritableFolder(input.output);
  const exportFile = input.sink === 'api' ? null : input.output;
  const reportFile = reportPathFor(input.output, input.runId);
  const counts = emptyCounts();
  const invalid: InvalidRow[] = [];
  let estimatedCostUsd = 0;
  const customersFile = path.join(runDir(dataDir, input.runId), 'report-customers.json.part');
  const exportTmp = exportFile ? `${exportFile}.${input.runId}.tmp` : null;
  await mkdir(path.dirname(customersFile), { recursive: true });

  // One pass over the CSV writes the users and the report's customer list side by side.
  const customersOut = await openOut(customersFile);
  const usersOut = exportTmp ? await openOut(exportTmp) : null;
  try {
    let firstCustomer = true;
    let firstUser = true;
    if (usersOut) await put(usersOut, '[\n');
    const rows = withRecordsReadAhead(readCsvRows(input.input), (id) => readRecord(dataDir, input.runId, id));
    for await (const { row, record: reading } of rows) {
      counts.rows += 1;
      if (counts.rows % 1000 === 0) Context.current().heartbeat(counts.rows);
      if ('invalid' in row) {
        counts.invalid += 1;
        invalid.push(row.invalid);
        continue;
      }
      if (reading === null) {
        counts.duplicates += 1;
        invalid.push({ line: row.line, value: String(row.id), reason: 'duplicate' });
        continue;
      }
      const record = (await reading) ?? {
        outcome: notProcessed(row.id, row.line, input.cancelled),
        customer: null,
      };
      tally(counts, record.outcome);
      const customer = reported(record.outcome);
      estimatedCostUsd += customer.estimatedCostUsd;
      await put(customersOut, `${firstCustomer ? '' : ',\n'}    ${JSON.stringify(customer)}`);
      firstCustomer = false;
      if (usersOut && record.customer) {
        await put(usersOut, `${firstUser ? '' : ',\n'}  ${JSON.stringify(record.customer)}`);
        firstUser = false;
      }
    }
    if (usersOut) await put(usersOut, '\n]\n');
    await finish(customersOut);
    if (usersOut) await finish(usersOut);
  } catch (err) {
    await discard(customersOut, customersFile);
    await discard(usersOut, exportTmp);
    throw err;
  }

  const endedAt = new Date().toISOString();
  // The export is complete only now: until this rename, a previous export stays intact.
  if (exportFile && exportTmp) await rename(exportTmp, exportFile);
  await writeAtomically(reportFile, async (out) => {
    const head: ReportHead = {
      runId: input.runId,
      startedAt: input.startedAt,
      endedAt,
      state: input.cancelled ? 'cancelled' : 'completed',
      retryOf: input.retryOf,
      input: input.input,
      export: exportFile,
      sink: input.sink,
      counts,
      estimatedCostUsd,
      pricesTakenOn,
      madeFrom: 'export',
    };
    await put(
      out,
      `${JSON.stringify(head, null, 2).replace(/\n}$/, '')},\n  "invalidRows": ${JSON.stringify(invalid)},\n`,
    );
    await put(out, '  "customers": [\n');
    await pipeFile(customersFile, out);
    await put(out, '\n  ]\n}\n');
  });
  await rm(customersFile, { force: true });
  // The HTML report holds the JSON report as written, read back in decoded chunks.
  const htmlReportFile = htmlReportPathFor(reportFile);
  await writeAtomically(htmlReportFile, (out) =>
    writeHtmlReport(createReadStream(reportFile, { encoding: 'utf8' }), (text) => put(out, text)),
  );
  log.info('Run exported', { runId: input.runId, exportFile, reportFile, htmlReportFile });
  return {
    counts,
    estimatedCostUsd,
    exportPath: exportFile,
    reportPath: reportFile,
    htmlReportPath: htmlReportFile,
    endedAt,
  };
}

/** Records read ahead of the row being written: reading them one at a time made the export slow. */
const recordsReadAhead = 256;

/**
 * The CSV's rows in order, each first sighting of an id with its record being read (null for invalid rows and
 * repeated ids), up to recordsReadAhead rows ahead.
 */
async function* withRecordsReadAhead(
  rows: AsyncIterable<CsvRow>,
  read: (id: number) => Promise<CustomerRecord | undefined>,
): AsyncGenerator<{ row: CsvRow; record: Promise<CustomerRecord | undefined> | null }> {
  const seen = new Set<number>();
  const queue: { row: CsvRow; record: Promise<CustomerRecord | undefined> | null }[] = [];
  for await (const row of rows) {
    let record: Promise<CustomerRecord | undefined> | null = null;
    if (!('invalid' in row) && !seen.has(row.id)) {
      seen.add(row.id);
      record = read(row.id);
      record.catch(() => undefined); // its failure is met when its row's turn comes, not as an unhandled rejection
    }
    queue.push({ row, record });
    if (queue.length >= recordsReadAhead) yield queue.shift()!;
  }
  yield* queue;
}

async function pipeFile(file: string, out: WriteStream): Promise<void> {
  for await (const chunk of createReadStream(file)) await put(out, chunk as Buffer);
}

function notProcessed(id: number, line: number, cancelled: boolean): CustomerOutcome {
  return {
    ...newOutcome(id, line),
    error: {
      reason: 'not_processed',
      message: cancelled
        ? 'The run was cancelled before this customer was processed.'
        : 'The run ended before this customer was processed.',
    },
  };
}
