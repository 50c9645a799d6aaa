// Reads a run's customer ids, from the CSV file or from the rows the CLI streamed into the shared store: one page at a
// time from a cursor, bad rows and repeated ids set aside.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { parse } from 'csv-parse';
import { ApplicationFailure } from '@temporalio/common';
import { activityFailure } from './failure';
import { failureTypes } from '../failures';
import type { CustomerRow, InvalidRow } from '../outcomes';
import { maxPageBytes } from '../workflows/api';
import type { CustomerRecord, InputRow, InputRows } from './store/store';

/** Where the next page of the CSV starts. */
export interface CsvCursor {
  byteOffset: number;
  /** Number of the last line read (1 is the header). */
  line: number;
  /** Index of the UserID column. */
  column: number;
}

export interface UserIdPage {
  ids: CustomerRow[];
  invalid: InvalidRow[];
  /** undefined when the file is exhausted. */
  next: CsvCursor | undefined;
}

const headerName = 'userid';

export type CsvRow = { id: number; line: number; next: CsvCursor } | { invalid: InvalidRow; next: CsvCursor };

const inputFailure = (message: string): ApplicationFailure =>
  activityFailure(failureTypes.inputInvalid, message, { nonRetryable: true });

/** Why a UserID cell is not a customer id, or undefined when it is one. */
export function idProblem(value: string): string | undefined {
  if (value === '') return 'empty';
  if (/^-\d+$/.test(value)) return 'not a positive integer';
  if (!/^\d+$/.test(value)) return 'not a whole number';
  const n = Number(value);
  if (!Number.isSafeInteger(n)) return 'too large';
  if (n === 0) return 'not a positive integer';
  return undefined;
}

/**
 * The header cells, quoted in an error only when the file is named as a CSV and they read as column names: never a
 * line of some other file (a key, a password file) a run was pointed at.
 */
function headerNames(input: string, cells: string[]): string {
  if (!/\.(csv|tsv|txt)$/i.test(input)) return '';
  const names = cells.filter((cell) => cell !== '');
  if (names.length === 0 || names.some((cell) => !/^[\p{L}\p{N} _.-]{1,40}$/u.test(cell))) return '';
  return ` (found: ${names.join(', ')})`;
}

/** A row of a list of ids is a few bytes: a longer one is an invalid row, never a run's failure or a huge page. */
const maxRowBytes = 1024;
/** What an invalid row's report shows of its value, so a page of them stays small. */
const maxShownValue = 64;
const shown = (value: string): string =>
  [...value].length > maxShownValue ? `${[...value].slice(0, maxShownValue).join('')}…` : value;

/** How much of the file's start is checked to be UTF-8 text. */
const encodingSampleBytes = 64 * 1024;

async function ensureReadable(input: string): Promise<void> {
  try {
    const info = await stat(input);
    if (!info.isFile()) throw inputFailure(`The input ${input} is not a file.`);
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    throw inputFailure(`The input file ${input} does not exist or cannot be read.`);
  }
  const file = await open(input);
  try {
    const sample = Buffer.alloc(encodingSampleBytes);
    const { bytesRead } = await file.read(sample, 0, encodingSampleBytes, 0);
    if (!isUtf8Start(sample.subarray(0, bytesRead), bytesRead === encodingSampleBytes)) {
      throw inputFailure(`The input file ${input} is not UTF-8 text; save it as "CSV UTF-8".`);
    }
  } finally {
    await file.close();
  }
}

/** Whether bytes read from a file's start are UTF-8 (a character cut at the sample's end is fine). */
function isUtf8Start(bytes: Buffer, cut: boolean): boolean {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return false; // UTF-16 little-endian
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return false; // UTF-16 big-endian
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    decoder.decode(bytes, { stream: cut });
    return true;
  } catch {
    return false;
  }
}

/**
 * Streams the UserID column of a CSV from a cursor: one row at a time, never the whole file.
 * A missing file, an empty file or a header without UserID is a non-retryable failure.
 */
export async function* readCsvRows(input: string, from?: CsvCursor): AsyncGenerator<CsvRow> {
  if (!from) await ensureReadable(input);
  const base = from ?? { byteOffset: 0, line: 0, column: -1 };
  const parser = createReadStream(input, { start: base.byteOffset }).pipe(
    parse({
      bom: true,
      delimiter: [',', ';', '\t'],
      info: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      relax_quotes: true,
    }),
  );
  let column = base.column;
  let bytesBefore = 0;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: string[];
      info: { bytes: number; lines: number };
    }>) {
      const next: CsvCursor = { byteOffset: base.byteOffset + info.bytes, line: base.line + info.lines, column };
      if (column < 0) {
        column = record.findIndex((cell) => cell.toLowerCase() === headerName);
        if (column < 0) {
          throw inputFailure(
            `The input file ${input} has no UserID column in its header${headerNames(input, record)}.`,
          );
        }
        continue;
      }
      const rowBytes = info.bytes - bytesBefore;
      bytesBefore = info.bytes;
      const value = (record[column] ?? '').trim();
      const problem = rowBytes > maxRowBytes ? `over ${maxRowBytes} bytes` : idProblem(value);
      yield problem === undefined
        ? { id: Number(value), line: next.line, next }
        : { invalid: { line: next.line, value: shown(value), reason: problem }, next };
    }
  } catch (err) {
    if (err instanceof ApplicationFailure) throw err;
    // The parser's own message may quote the file's content: only where it stopped is said.
    const line = (err as { lines?: unknown }).lines;
    throw inputFailure(
      `The input file ${input} is not a readable CSV${typeof line === 'number' ? ` (line ${line})` : ''}.`,
    );
  } finally {
    parser.destroy();
  }
  if (column < 0) throw inputFailure(`The input file ${input} is empty: it needs a header line with UserID.`);
}

/** Where a run's rows are: the CSV file at `input`, or (`inputStored`) the shared store, under the run's id. */
export interface RunInput {
  runId: string;
  input: string;
  inputStored?: boolean;
}

/** Rows asked of the store at once. */
const storedRowsPerRead = 10_000;

/** A run's rows from a cursor, wherever they are; a stored input needs a store that holds input rows. */
export function runInputRows(
  source: RunInput,
  stored: InputRows | undefined,
  from?: CsvCursor,
): AsyncGenerator<CsvRow> {
  if (!source.inputStored) return readCsvRows(source.input, from);
  if (!stored) {
    throw inputFailure(
      `Run ${source.runId} keeps its input in the shared store, and this worker has none: set SDW_DATABASE_URL as the CLI has it.`,
    );
  }
  return readStoredRows(stored, source.runId, from);
}

async function* readStoredRows(stored: InputRows, runId: string, from?: CsvCursor): AsyncGenerator<CsvRow> {
  // A stored row's cursor is its line: the rows after it come next.
  let after = from?.line ?? 0;
  for (;;) {
    const rows: InputRow[] = await stored.readInputRows(runId, after, storedRowsPerRead);
    for (const row of rows) {
      const next: CsvCursor = { byteOffset: 0, line: row.line, column: 0 };
      yield 'id' in row ? { id: row.id, line: row.line, next } : { invalid: row.invalid, next };
    }
    if (rows.length < storedRowsPerRead) return;
    after = rows.at(-1)!.line;
  }
}

/**
 * Reads the next page of customer ids, at most `pageSize` rows and about `pageBytes` of result; rows that are not
 * ids, and ids repeated within the page, are reported.
 */
export async function readUserIds(
  rows: AsyncIterable<CsvRow>,
  pageSize: number,
  pageBytes = maxPageBytes,
): Promise<UserIdPage> {
  const page: UserIdPage = { ids: [], invalid: [], next: undefined };
  const seen = new Set<number>();
  let read = 0;
  let bytes = 0;
  const add = <T>(list: T[], item: T): void => {
    list.push(item);
    bytes += Buffer.byteLength(JSON.stringify(item)) + 1;
  };
  for await (const row of rows) {
    if ('invalid' in row) {
      add(page.invalid, row.invalid);
    } else if (seen.has(row.id)) {
      add(page.invalid, { line: row.line, value: String(row.id), reason: 'duplicate' });
    } else {
      seen.add(row.id);
      add(page.ids, { id: row.id, line: row.line });
    }
    // The page ends at its rows or at its bytes (a row set aside can be a hundred times an id's size).
    if (++read >= pageSize || bytes >= pageBytes) {
      page.next = row.next;
      break;
    }
  }
  return page;
}

/**
 * A page without the customers the run already processed from another line (an id repeated on a later page of the
 * CSV), which join its invalid rows as duplicates. Pages run one after the other, so the earlier line's record is
 * in the store by then.
 */
export async function setAsideProcessed(
  page: UserIdPage,
  readRecords: (ids: number[]) => Promise<Map<number, CustomerRecord>>,
): Promise<UserIdPage> {
  const recorded = await readRecords(page.ids.map((row) => row.id));
  const processed = page.ids.filter((row) => {
    const record = recorded.get(row.id);
    return record !== undefined && record.outcome.line !== row.line;
  });
  if (processed.length === 0) return page;
  const lines = new Set(processed.map((row) => row.line));
  const duplicates = processed.map((row) => ({ line: row.line, value: String(row.id), reason: 'duplicate' }));
  return {
    ...page,
    ids: page.ids.filter((row) => !lines.has(row.line)),
    invalid: [...page.invalid, ...duplicates].sort((a, b) => a.line - b.line),
  };
}
