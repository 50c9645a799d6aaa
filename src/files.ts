// Files written whole or not at all (the one atomic writer), whether a folder takes new files, and whether a file is
// an earlier export a run may replace.
import { createWriteStream, link, readFile, rename, unlink, writeFile, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/** A new file's permissions unless said otherwise (less the process's umask), as Node gives them. */
const defaultMode = 0o666;

// Callback fs calls, not fs/promises': no FileHandle to open and close, about half the CPU a record or a ledger
// entry costs.
const writeNew = promisify(writeFile);
const linkFile = promisify(link);
const renameFile = promisify(rename);
const unlinkFile = promisify(unlink);
/** Removes a temporary file that may not be there. */
const removeIfAny = (file: string): Promise<void> =>
  unlinkFile(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });

/** Appends to the file being written, waiting when its buffer is full. */
export type Put = (chunk: string | Buffer) => Promise<void>;

/**
 * Writes a file whole or not at all: `write` fills a temporary file beside it, which is renamed over `file` only
 * once complete, so a reader never sees half a file and a failure leaves the previous file as it was.
 */
export async function writeAtomically(
  file: string,
  write: (put: Put) => Promise<void>,
  mode = defaultMode,
): Promise<void> {
  const tmp = temporaryBeside(file);
  const out = createWriteStream(tmp, { mode });
  try {
    await once(out, 'open'); // open before written, so a failure cannot race with the opening
    await write(async (chunk) => {
      if (!out.write(chunk)) await once(out, 'drain');
    });
    out.end();
    await once(out, 'finish');
    await renameFile(tmp, file);
  } catch (err) {
    await discard(out);
    await removeIfAny(tmp);
    throw err;
  }
}

/**
 * A Put that gathers small chunks into writes of about 64 KiB: a file of a million lines is a few thousand writes,
 * not a million awaited ones. `flush` writes what is left.
 */
export function gathered(put: Put, size = 64 * 1024): { put: Put; flush: () => Promise<void> } {
  let pending: string[] = [];
  let length = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const text = pending.join('');
    [pending, length] = [[], 0];
    await put(text);
  };
  return {
    async put(chunk) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString();
      pending.push(text);
      length += text.length;
      if (length >= size) await flush();
    },
    flush,
  };
}

/** writeAtomically for a text already in memory: one write and a rename, no stream (a record, a ledger entry). */
export async function writeTextAtomically(file: string, text: string, mode = defaultMode): Promise<void> {
  const tmp = temporaryBeside(file);
  try {
    await writeNew(tmp, text, { flag: 'wx', mode });
    await renameFile(tmp, file);
  } catch (err) {
    await removeIfAny(tmp);
    throw err;
  }
}

/**
 * A small JSON file's value, or undefined when there is no such file. The callback readFile: fs/promises' readFile
 * takes several trips through the thread pool a file, which the export's thousands of records a second feel.
 */
export async function readJsonIfAny<T>(file: string): Promise<T | undefined> {
  const text = await new Promise<string | undefined>((resolve, reject) =>
    readFile(file, 'utf8', (err, data) => {
      if (!err) resolve(data);
      else if (err.code === 'ENOENT') resolve(undefined);
      else reject(err);
    }),
  );
  return text === undefined ? undefined : (JSON.parse(text) as T);
}

/** This process's part of its temporary files' names: random once, so two processes' names never meet. */
const processTag = randomBytes(4).toString('hex');
let temporaryFiles = 0;
/** A temporary file's name beside `file`: hidden, and unique to this write (a name met anyway fails the 'wx' open). */
const temporaryBeside = (file: string): string =>
  `${path.dirname(file)}${path.sep}.${path.basename(file)}.${processTag}-${(temporaryFiles += 1)}.tmp`;

/**
 * Creates a file whole unless it exists, in one step no other writer can interleave with (a hard link of a complete
 * temporary file): true when this call created it, false when it was there already.
 */
export async function createTextExclusively(file: string, text: string, mode = defaultMode): Promise<boolean> {
  const tmp = temporaryBeside(file);
  await writeNew(tmp, text, { flag: 'wx', mode });
  try {
    await linkFile(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await removeIfAny(tmp);
  }
}

async function discard(out: WriteStream): Promise<void> {
  if (out.destroyed) return;
  out.on('error', () => undefined);
  out.destroy();
  await once(out, 'close');
}

/**
 * Whether a file can be created in a folder, found by creating one: permission bits do not tell
 * (root passes them all, and a read-only file system refuses whatever they say).
 */
export async function canWriteIn(folder: string): Promise<boolean> {
  const probe = path.join(folder, `.sdw-etl-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeNew(probe, '', { flag: 'wx' });
    await removeIfAny(probe);
    return true;
  } catch {
    return false;
  }
}

/** How much of an existing file is read to tell whether it is an earlier export. */
const exportSniffBytes = 1024 * 1024;

/**
 * Whether `file` may be replaced by a run's export: it does not exist, or it is an earlier sdw-etl export (a JSON
 * array written one user per line, as the export writes it: empty, or a first line holding a user with an id).
 */
export async function isEarlierExport(file: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  try {
    if (!(await handle.stat()).isFile()) return false;
    const start = Buffer.alloc(exportSniffBytes);
    const { bytesRead } = await handle.read(start, 0, exportSniffBytes, 0);
    const lines = start.subarray(0, bytesRead).toString('utf8').split('\n');
    if (lines[0] !== '[') return false;
    if (lines[1] === ']' || (lines[1] === '' && lines[2] === ']')) return true;
    const first = JSON.parse((lines[1] ?? '').replace(/,$/, '')) as unknown;
    return typeof first === 'object' && first !== null && Number.isSafeInteger((first as { id?: unknown }).id);
  } catch {
    return false;
  } finally {
    await handle.close();
  }
}
