// What the progress bar and the plain lines say of a run, the input's count behind their total, the JSON document
// scripts get, and colours only where a person looks at a terminal.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { colour } from '../../src/cli/context';
import { jsonText } from '../../src/cli/json';
import { countDataRows, formatEta, RateMeter, viewOf } from '../../src/cli/progress';
import { emptyCounts } from '../../src/outcomes';
import type { Progress } from '../../src/workflows/api';
import { scratchDir } from '../helpers';

const progress = (over: Partial<Progress> = {}, counts: Partial<Progress['counts']> = {}): Progress => ({
  runId: 'run-1',
  state: 'running',
  startedAt: '2026-11-27T10:00:00.000Z',
  counts: { ...emptyCounts(), ...counts },
  inFlight: 20,
  inFlightIds: [],
  retryOf: null,
  bankApi: { status: 'up', since: null },
  apiOutageWaitMs: 900_000,
  campaign: 'ids',
  ...over,
});

describe('the bar and the plain lines', () => {
  test('done, total, percent, rate, ETA, state, outcomes, fallbacks and customers in flight', () => {
    const view = viewOf(progress({}, { loaded: 590, skipped: 6, failed: 4, fromMock: 3, templated: 2 }), 2000, 40);
    expect(view).toEqual({
      done: 600,
      total: 2000,
      text: '600/2000 customers 30% | 40.0/s | ETA 35s | running | loaded 590 skipped 6 failed 4 | mock 3 template 2 | 20 in flight',
    });
  });

  test('rows set aside (invalid, duplicates) come off the total as the run finds them', () => {
    expect(viewOf(progress({}, { loaded: 10, invalid: 3, duplicates: 2 }), 100, 1).total).toBe(95);
  });

  test('an input this host cannot read: the count done, no percent or ETA', () => {
    expect(viewOf(progress({}, { loaded: 7 }), undefined, 2).text).toMatch(/^7 customers done \| 2\.0\/s \| ETA - \|/);
  });

  test.each([
    [progress({ state: 'paused' }), 'paused (sdw-etl resume run-1)', 'ETA -'],
    [progress({ state: 'draining' }), 'cancelling: the customers in flight finish', 'ETA -'],
    [
      progress({ bankApi: { status: 'down', since: '2026-11-27T10:04:05.000Z' } }),
      'waiting for the bank API since 10:04:05',
      'ETA -',
    ],
    [
      progress({ bankApi: { status: 'gaveUp', since: '2026-11-27T10:04:05.000Z' } }),
      'bank API down since 10:04:05: failure policies apply',
      'ETA 1m40s',
    ],
  ])('the state in words: %#', (p, state, eta) => {
    const text = viewOf(p, 200, 2).text;
    expect(text).toContain(` | ${state} | `);
    expect(text).toContain(` | ${eta} | `);
  });

  test('ETAs in seconds, minutes or hours', () => {
    expect([formatEta(42.4), formatEta(187), formatEta(7500), formatEta(-3)]).toEqual(['42s', '3m07s', '2h05m', '0s']);
  });

  test('the rate is measured over the last 30 s, and from the run start before 5 s of samples', () => {
    const meter = new RateMeter(0);
    expect(meter.add(0, 0)).toBeUndefined();
    expect(meter.add(2_000, 100)).toBe(50);
    for (let t = 2_500; t <= 60_000; t += 500) meter.add(t, t < 30_000 ? t / 20 : 1500 + (t - 30_000) / 100);
    // The first 30 s at 50/s are gone from the window: only the last 30 s at 10/s count.
    expect(meter.add(60_500, 1805)).toBeCloseTo(10, 0);
  });

  test('the total is counted from the input: its non-empty lines after the header', async () => {
    const dir = scratchDir();
    const file = path.join(dir, 'in.csv');
    writeFileSync(file, 'UserID\r\n1\r\n2\r\n\r\n3\nx\n\n4');
    expect(await countDataRows(file)).toBe(5);
    expect(await countDataRows(path.join(dir, 'missing.csv'))).toBeUndefined();
  });
});

describe('output for scripts and colours', () => {
  test('JSON: absent values as null, outside text escaped yet read back the same', () => {
    const message = 'Olá\u009b[2J\u202egnp.exe\u{e0001}\u001b';
    const text = jsonText({ message, reportPath: undefined });
    expect(text).not.toMatch(/[\p{Cc}\p{Cf}](?<!\n)/u);
    expect(JSON.parse(text)).toEqual({ message, reportPath: null });
  });

  test('colours only on a terminal, and never with NO_COLOR', () => {
    const wasTty = process.stdout.isTTY;
    try {
      process.stdout.isTTY = true;
      expect(colour('✓', 'green', {})).toBe('\u001b[32m✓\u001b[39m');
      expect(colour('✓', 'green', { NO_COLOR: '1' })).toBe('✓');
      process.stdout.isTTY = false;
      expect(colour('✓', 'green', {})).toBe('✓');
    } finally {
      process.stdout.isTTY = wasTty;
    }
  });
});
