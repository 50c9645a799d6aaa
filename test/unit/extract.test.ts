import { createFileStore } from '../../src/activities/store/files';
import { createActivities } from '../../src/activities';
import { idProblem } from '../../src/activities/extract';
import type { CsvCursor } from '../../src/activities/extract';
import { writeFileSync } from 'node:fs';
import { maxPageBytes, maxPageSize } from '../../src/workflows/api';
import path from 'node:path';
import { activityEnv, failureOf, scratchDir, writeCsv, scratchFolders } from '../helpers';

const { readUserIds } = createActivities({
  store: createFileStore(scratchDir()),
  apiUrl: 'http://127.0.0.1:1',
  llm: undefined,
  folders: scratchFolders(),
});
const env = activityEnv();
const dir = scratchDir();

describe('readUserIds', () => {
  test('takes a BOM, CRLF, blank lines, quotes and surrounding spaces, and counts lines as an editor does', async () => {
    const input = writeCsv(dir, '\uFEFFUserID\r\n 2 \r\n\r\n"3"\r\n4', 'messy.csv');
    const page = await env.run(readUserIds, { runId: 'run-extract', input, cursor: undefined, pageSize: 10 });
    expect(page.ids).toEqual([
      { id: 2, line: 2 },
      { id: 3, line: 4 },
      { id: 4, line: 5 },
    ]);
    expect(page.invalid).toEqual([]);
    expect(page.next).toBeUndefined();
  });

  test('reports each bad row with its line, value and reason, and skips it without failing', async () => {
    const input = writeCsv(dir, 'UserID\nabc\n-4\n0\n1e3\n0x10\n12345678901234567890\n5\n5\n', 'bad.csv');
    const page = await env.run(readUserIds, { runId: 'run-extract', input, cursor: undefined, pageSize: 100 });
    expect(page.ids).toEqual([{ id: 5, line: 8 }]);
    expect(page.invalid).toEqual([
      { line: 2, value: 'abc', reason: 'not a whole number' },
      { line: 3, value: '-4', reason: 'not a positive integer' },
      { line: 4, value: '0', reason: 'not a positive integer' },
      { line: 5, value: '1e3', reason: 'not a whole number' },
      { line: 6, value: '0x10', reason: 'not a whole number' },
      { line: 7, value: '12345678901234567890', reason: 'too large' },
      { line: 9, value: '5', reason: 'duplicate' },
    ]);
  });

  test('pages through a file from a cursor, each row read once, line numbers carried across pages', async () => {
    const input = writeCsv(dir, 'Name;UserID\nAna;10\n\nBia;11\nCaio;12\nDani;13\nEva;14\n', 'paged.csv');
    const seen: { id: number; line: number }[] = [];
    let cursor: CsvCursor | undefined;
    let pages = 0;
    do {
      const page = await env.run(readUserIds, { runId: 'run-extract', input, cursor, pageSize: 2 });
      seen.push(...page.ids);
      cursor = page.next;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual([
      { id: 10, line: 2 },
      { id: 11, line: 4 },
      { id: 12, line: 5 },
      { id: 13, line: 6 },
      { id: 14, line: 7 },
    ]);
    expect(pages).toBe(3);
  });

  test('a missing file is a non-retryable failure that names the file', async () => {
    const failure = await failureOf(
      env.run(readUserIds, { runId: 'run-extract', input: `${dir}/nope.csv`, cursor: undefined, pageSize: 10 }),
    );
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(`The input file ${dir}/nope.csv does not exist or cannot be read.`);
  });

  test('a header without UserID is a non-retryable failure that says what it found', async () => {
    const input = writeCsv(dir, 'CustomerId,Name\n1,Ana\n', 'header.csv');
    const failure = await failureOf(
      env.run(readUserIds, { runId: 'run-extract', input, cursor: undefined, pageSize: 10 }),
    );
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(
      `The input file ${input} has no UserID column in its header (found: CustomerId, Name).`,
    );
  });

  test('a file not named as a CSV is never quoted in the error, even when its first line reads like words', async () => {
    const input = writeCsv(dir, 'hunter2 secret\n', 'notes.key');
    const failure = await failureOf(
      env.run(readUserIds, { runId: 'run-extract', input, cursor: undefined, pageSize: 10 }),
    );
    expect(failure.message).toBe(`The input file ${input} has no UserID column in its header.`);
  });

  test('an empty file is a non-retryable failure', async () => {
    const input = writeCsv(dir, '', 'empty.csv');
    const failure = await failureOf(
      env.run(readUserIds, { runId: 'run-extract', input, cursor: undefined, pageSize: 10 }),
    );
    expect(failure.message).toBe(`The input file ${input} is empty: it needs a header line with UserID.`);
  });
});

describe('a page is bounded in bytes as well as rows', () => {
  test('a full page of rows set aside ends before its result nears the payload limit, and the next page goes on', async () => {
    const junk = 'x'.repeat(400);
    const rows = maxPageSize;
    const input = writeCsv(
      dir,
      `UserID\n${Array.from({ length: rows }, (_, i) => `${junk}${i}`).join('\n')}\n`,
      'junk.csv',
    );
    const first = await env.run(readUserIds, { runId: 'run-bytes', input, cursor: undefined, pageSize: maxPageSize });
    const size = Buffer.byteLength(JSON.stringify(first));
    expect(size).toBeLessThan(maxPageBytes + 1000);
    expect(first.invalid.length).toBeLessThan(rows);
    let read = first.invalid.length;
    for (let cursor = first.next; cursor;) {
      const page = await env.run(readUserIds, { runId: 'run-bytes', input, cursor, pageSize: maxPageSize });
      read += page.invalid.length;
      cursor = page.next;
    }
    expect(read).toBe(rows);
  });
});

describe('the bad-input suite', () => {
  test.each([
    [
      'UTF-16 (as some spreadsheets save it)',
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('UserID\n2\n', 'utf16le')]),
    ],
    ['Latin-1', Buffer.from('UserID,Nome\n2,Jos\xe9\n', 'latin1')],
  ])('a %s file is refused in one sentence', async (_kind, bytes) => {
    const input = path.join(dir, `encoding-${bytes.length}.csv`);
    writeFileSync(input, bytes);
    const failure = await failureOf(
      env.run(readUserIds, { runId: 'run-extract', input, cursor: undefined, pageSize: 10 }),
    );
    expect(failure).toMatchObject({
      nonRetryable: true,
      message: `The input file ${input} is not UTF-8 text; save it as "CSV UTF-8".`,
    });
  });

  test('a 3 MB line is an invalid row with its reason, shown cut short; the rows around it are read', async () => {
    const input = writeCsv(dir, `UserID\n2\n${'9'.repeat(3 * 1024 * 1024)}\n3\n`, 'huge-line.csv');
    const page = await env.run(readUserIds, { runId: 'run-extract', input, cursor: undefined, pageSize: 10 });
    expect(page.ids).toEqual([
      { id: 2, line: 2 },
      { id: 3, line: 4 },
    ]);
    expect(page.invalid).toEqual([{ line: 3, value: `${'9'.repeat(64)}…`, reason: 'over 1024 bytes' }]);
    expect(JSON.stringify(page).length).toBeLessThan(1000);
  });

  test('a header with no rows is an empty page, not an error', async () => {
    const input = writeCsv(dir, 'UserID\r\n', 'header-only.csv');
    expect(await env.run(readUserIds, { runId: 'run-extract', input, cursor: undefined, pageSize: 10 })).toEqual({
      ids: [],
      invalid: [],
      next: undefined,
    });
  });

  test('quoted values, extra columns and a semicolon delimiter are read', async () => {
    const input = writeCsv(
      dir,
      'Nome;"UserID";Cidade\n"Ana; Lima";" 7 ";Recife\nBia;"8";"São Paulo"\n',
      'semicolon.csv',
    );
    const page = await env.run(readUserIds, { runId: 'run-extract', input, cursor: undefined, pageSize: 10 });
    expect(page.ids).toEqual([
      { id: 7, line: 2 },
      { id: 8, line: 3 },
    ]);
  });
});

describe('idProblem', () => {
  test.each([
    ['7', undefined],
    ['007', undefined],
    ['', 'empty'],
    ['7.5', 'not a whole number'],
    ['+7', 'not a whole number'],
    ['9007199254740993', 'too large'],
  ])('%p → %p', (value, problem) => {
    expect(idProblem(value)).toBe(problem);
  });
});
