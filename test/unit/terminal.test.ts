// Text from outside (names, messages, errors, paths) reaches a terminal with its control, invisible and
// bidirectional characters shown as "?": no escape sequence runs and no override reorders a line.
import { ConfigError } from '../../src/config';
import { describeError, UsageError } from '../../src/cli/context';
import { customerLine } from '../../src/cli/run';
import { emptyCounts, newOutcome } from '../../src/outcomes';
import { printable, reportAsTable, reported, type RunReport } from '../../src/report';

/** Every character a terminal must not get raw from outside data (line feeds between lines are ours). */
const unsafe = /[\p{Cc}\p{Cf}\u2028\u2029]/u;
const hostile =
  'Ana\u001b[2J\u001b]0;pwned\u0007 \u202egnp.exe\u202c \u2066x\u2069 a\u200bb\u200d\u200e\u200f\ufeff\u00ad\u0085\n';

describe('printable', () => {
  test.each([
    ['an escape sequence', '\u001b[31mred', '?[31mred'],
    ['a bell and a line feed', 'a\u0007b\nc', 'a?b?c'],
    ['a C1 control', 'a\u009bb', 'a?b'],
    ['a right-to-left override', 'Ana \u202egnp.exe', 'Ana ?gnp.exe'],
    ['bidi embeddings and isolates', '\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069', '????????'],
    ['zero-width characters and marks', 'a\u200bb\u200cc\u200dd\u200ee\u200ff', 'a?b?c?d?e?f'],
    ['a byte order mark, a soft hyphen and line separators', '\ufeffa\u00adb\u2028c\u2029', '?a?b?c?'],
    ['accents, other scripts and emoji, which are kept', 'João, Иван, 李 🚀 R$ 10%', 'João, Иван, 李 🚀 R$ 10%'],
  ])('%s', (_what, text, shown) => {
    expect(printable(text)).toBe(shown);
  });
});

describe('the places that print outside data', () => {
  const customer = reported({
    ...newOutcome(7, 2),
    status: 'loaded',
    message: hostile,
    error: { reason: 'llm_bad_reply', message: hostile },
  });

  test("a run summary's customer line", () => {
    const line = customerLine(customer);
    expect(line).not.toMatch(unsafe);
    expect(line).toContain('Ana?[2J?]0;pwned? ?gnp.exe? ?x? a?b');
  });

  test('the report as a table', () => {
    const report: RunReport = {
      runId: 'r1',
      startedAt: '2026-11-25T10:00:00.000Z',
      endedAt: null,
      state: 'completed',
      retryOf: null,
      campaign: 'ids',
      input: `in${hostile}.csv`,
      export: `out${hostile}.json`,
      sink: 'both',
      counts: emptyCounts(),
      estimatedCostUsd: 0,
      pricesTakenOn: '2024-07-18',
      bankApiOutages: [],
      madeFrom: 'export',
      invalidRows: [{ line: 3, value: hostile, reason: 'not a whole number' }],
      customers: [customer, reported({ ...newOutcome(8, 3), status: 'loaded', message: hostile })],
    };
    for (const line of reportAsTable(report).split('\n')) expect(line).not.toMatch(unsafe);
  });

  test('an error that ends a command', () => {
    for (const err of [new UsageError(hostile), new ConfigError(hostile), new Error(hostile), hostile]) {
      expect(describeError(err)).not.toMatch(unsafe);
    }
    expect(describeError(new UsageError(`No run with id ${hostile} exists.`))).toMatch(/^No run with id Ana\?\[2J/);
  });
});
