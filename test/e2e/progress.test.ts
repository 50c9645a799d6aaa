// sdw-etl run followed as a person does in a terminal (tmux, a real pseudo-terminal) and as a script does in a pipe:
// the bar read at three moments (total, percent, ETA against the time that was really left), the same summary.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { cliEnv, csvOf, root, sdwEtl, startPipeline, writeCsv, type Pipeline } from '../helpers';

const customers = 2000;
const concurrency = 20;
/**
 * What sets the pace: each customer waits this long for its message, against a few milliseconds for everything
 * else (the bank API simulator, the export, Temporal's local activities: 8 ms of worker CPU a customer in
 * docs/benchmarks.md). So the run goes at about concurrency / latency = 40 customers/s on any machine that can do
 * several times that (the benchmark: 150-250/s on 2 shared cores), steadily, and lasts about 50 s: time to read the
 * bar three times, and an ETA that a steady pace lets us hold to 30% of the time that was really left.
 */
const llmLatencyMs = 500;
const shell = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

interface Reading {
  at: number;
  done: number;
  total: number;
  percent: number;
  etaSeconds: number;
}

const barLine = /\] (\d+)\/(\d+) customers (\d+)% \| [\d.]+\/s \| ETA (?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)? \| running/;

/** The bar as the screen shows it now, if it is there. */
function readBar(screen: string, at: number): Reading | undefined {
  const m = barLine.exec(screen);
  if (!m) return undefined;
  const etaSeconds = Number(m[4] ?? 0) * 3600 + Number(m[5] ?? 0) * 60 + Number(m[6] ?? 0);
  return { at, done: Number(m[1]), total: Number(m[2]), percent: Number(m[3]), etaSeconds };
}

/** The summary's lines with what differs from run to run (ids, times, paths, counts but the rows read) blanked. */
const summaryOf = (text: string): string[] =>
  text
    .slice(text.indexOf('\nRun '))
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    .map((line) => line.replace(/sdw-etl-\d{8}-\d{6}-\w+/g, 'RUN').replace(/: .*/, ': …'))
    .map((line) => (line.startsWith('  rows') ? line : line.replace(/[\d.]+/g, 'N')));

describe('sdw-etl run on a terminal and in a pipe', () => {
  let pipeline: Pipeline;
  let env: Record<string, string>;
  const socket = `sdw-etl-test-${randomUUID().slice(0, 8)}`;
  // Asynchronous: the worker runs in this process, and a blocking call would stall it at every look at the screen.
  const tmux = async (...args: string[]): Promise<string> =>
    (await promisify(execFile)('tmux', ['-L', socket, ...args], { encoding: 'utf8' })).stdout;

  beforeAll(async () => {
    pipeline = await startPipeline({ customers, llmFaults: { latencyMs: llmLatencyMs } });
    env = {
      ...cliEnv(pipeline),
      OPENAI_BASE_URL: pipeline.llm.baseURL,
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
    };
  });
  afterAll(async () => {
    try {
      await tmux('kill-server');
    } catch {
      // No tmux server was started.
    }
    await pipeline.close();
  });

  test('2,000 customers: the bar shows the total, a plausible percent and an ETA within 30% of what was left', async () => {
    const ids = Array.from({ length: customers }, (_, i) => i + 1);
    const input = writeCsv(pipeline.dir, csvOf(ids), 'terminal.csv');
    const args = ['run', '--input', input, '--output', path.join(pipeline.dir, 'terminal', 'out.json')];
    const command = [
      'env -i',
      ...Object.entries({ ...env, TERM: 'xterm-256color' }).map(([k, v]) => `${k}=${shell(v)}`),
      shell(process.execPath),
      shell(path.join(root, 'bin', 'sdw-etl.js')),
      ...args.map(shell),
      `--concurrency ${concurrency}; echo "exit code $?"; sleep 600`,
    ].join(' ');
    await tmux('new-session', '-d', '-x', '250', '-y', '50', '-s', 'run', command);

    const readings: Reading[] = [];
    let screen = '';
    let endedAt: number | undefined;
    const deadline = Date.now() + 300_000;
    while (!/exit code \d+/.test(screen) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      screen = await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'run');
      const now = Date.now();
      if (endedAt === undefined && /\nRun \S+ finished in/.test(screen)) endedAt = now;
      const reading = readBar(screen, now);
      const next = [0.25, 0.5, 0.75][readings.length];
      if (reading && next !== undefined && reading.done >= next * customers) readings.push(reading);
    }
    expect(readings).toHaveLength(3);
    for (const r of readings) {
      expect(r.total).toBe(customers);
      expect(r.percent).toBe(Math.floor((r.done * 100) / customers));
    }
    // Each ETA against the time that was left until the summary showed (all three shown when one is off).
    const etas = readings.map((r) => {
      const left = (endedAt! - r.at) / 1000;
      return { done: r.done, eta: r.etaSeconds, left, within30Percent: Math.abs(r.etaSeconds - left) <= 0.3 * left };
    });
    expect(etas).toEqual(etas.map((e) => ({ ...e, within30Percent: true })));
    expect(screen).toMatch(/\] (\d+)\/\1 customers 100%/);
    const ttyCode = /exit code (\d+)/.exec(screen)?.[1];

    // The same run in a pipe: plain lines every few seconds, no escape codes, the same summary.
    const piped = await sdwEtl(
      [
        ...args.slice(0, 2),
        writeCsv(pipeline.dir, csvOf(ids), 'pipe.csv'),
        '--output',
        path.join(pipeline.dir, 'pipe', 'out.json'),
        '--concurrency',
        String(concurrency),
      ],
      env,
      pipeline.dir,
    );
    // 0, or 2 when a customer failed: on a machine loaded far beyond its cores, an LLM call can time out.
    expect([0, 2]).toContain(piped.code);
    expect(['0', '2']).toContain(ttyCode);
    expect(piped.stdout).not.toContain('\u001b');
    expect(piped.stdout).not.toContain('\r');
    const lines = piped.stdout.split('\n').filter((l) => l.startsWith('progress: '));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(lines[lines.length - 1]).toMatch(
      /^progress: \d+\/2000 customers \d+% \| [\d.]+\/s \| ETA \S+ \| running \| loaded \d+ skipped 0 failed \d+ \| mock 0 template 0 \| \d+ in flight$/,
    );
    expect(summaryOf(screen.slice(0, screen.indexOf('exit code')))).toEqual(summaryOf(piped.stdout));
    expect(summaryOf(piped.stdout)).toContain('  rows        2000 (0 invalid rows, 0 duplicates)');
  }, 600_000);
});
