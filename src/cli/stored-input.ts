// A run's input streamed into the shared store before the run starts, so that no worker on any host needs the file.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { readCsvRows } from '../activities/extract';
import { openRecordStore } from '../activities/store';
import type { Config } from '../config';
import type { RunOptions } from '../workflows/api';
import type { InputRow, InputRows } from '../activities/store/store';
import { printable } from '../report';
import { UsageError } from './context';

/** Rows sent to the store in one statement: a million rows is a hundred statements. */
const rowsPerSave = 10_000;
/** How often the upload says how far it is. */
const progressEveryMs = 1000;

/** Refuses a run id that names a run already: its stored input must never be added to. */
export async function refuseExistingRun(client: Client, runId: string): Promise<void> {
  const exists = await client.workflow
    .getHandle(runId)
    .describe()
    .then(
      () => true,
      () => false,
    );
  if (exists) throw new UsageError(`A run with id ${runId} already exists.`);
}

/** Streams the CSV's rows into the store under the run's id, with a progress line on stderr; returns how many. */
export async function storeInput(rows: InputRows, runId: string, input: string, named: string): Promise<number> {
  const started = Date.now();
  let lastSaid = started;
  let saved = 0;
  let chunk: InputRow[] = [];
  const say = (end = false): void => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const line = `Stored ${saved.toLocaleString('en-US')} rows of ${printable(named)} in the shared store (${seconds} s)`;
    if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}${end ? '\n' : ''}`);
    else if (end) process.stderr.write(`${line}\n`);
  };
  const flush = async (): Promise<void> => {
    await rows.saveInputRows(runId, chunk);
    saved += chunk.length;
    chunk = [];
    if (Date.now() - lastSaid >= progressEveryMs) {
      lastSaid = Date.now();
      say();
    }
  };
  for await (const row of readCsvRows(input)) {
    chunk.push('invalid' in row ? { line: row.invalid.line, invalid: row.invalid } : { line: row.line, id: row.id });
    if (chunk.length >= rowsPerSave) await flush();
  }
  await flush();
  say(true);
  return saved;
}

/**
 * With a shared store (SDW_DATABASE_URL), the run's options after its input is streamed into it: workers on any host
 * read the rows from there. Without one, the options as they are: the workers read the file.
 */
export async function withStoredInput(
  client: Client,
  config: Config,
  runId: string,
  options: RunOptions,
  named: string,
): Promise<RunOptions> {
  if (!config.databaseUrl) return options;
  await refuseExistingRun(client, runId);
  const store = await openRecordStore(config);
  try {
    await storeInput(store.inputRows!, runId, options.input, named);
  } finally {
    await store.close?.();
  }
  return { ...options, inputStored: true };
}

/** A retry's ids as a run's input: in the shared store when there is one, else the CSV `file`. */
export async function retryInput(
  config: Config,
  retryId: string,
  ids: number[],
  file: string,
): Promise<Pick<RunOptions, 'input' | 'inputStored'>> {
  if (!config.databaseUrl) {
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `UserID\n${ids.join('\n')}\n`);
    return { input: file, inputStored: false };
  }
  const store = await openRecordStore(config);
  try {
    // Line 1 is the header of the CSV the retry would have had.
    await store.inputRows!.saveInputRows(
      retryId,
      ids.map((id, i) => ({ line: i + 2, id })),
    );
  } finally {
    await store.close?.();
  }
  return { input: file, inputStored: true };
}
