// sdw-etl run followed as a person does in a terminal (tmux, a real pseudo-terminal) and as a script does in a pipe:
// the bar read at three moments (total, percent, ETA against the time that was really left), the same summary.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { cliEnv, csvOf, root, sdwEtl, startPipeline, writeCsv, type Pipeline } from '../helpers';

const customers = 2000;
const concurrency = 10;
/**
 * What sets the pace: each customer waits this long for its message, against about 10 ms of CPU for everything else
 * (the bank API simulator, the export, Temporal's local activities: docs/benchmarks.md). So the run goes at about
 * concurrency / latency = 12.5 customers/s, a tenth of a core, on any machine that can do several times that (the
 * benchmark: 150-250/s on 2 cores): the pace stays steady even when other work takes most of the machine, and an
 * ETA from it can be held to 30% of the time that was really left. About 160 s: time to read the bar three times.
 */
const llmLatencyMs = 800;
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

/** The summary's lines with what differs from run to run (ids, times, paths) blanked. */
const summaryOf = (text: string): string[] =>
  text
    .slice(text.search(/\nRun \S+ finished in/))
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line !== '')
    // Each run is its own campaign, named after its list (terminal.csv, pipe.csv).
    .filter((line) => !line.startsWith('  campaign '))
    .map((line) => line.replace(/sdw-etl-\d{8}-\d{6}-\w+/g, 'RUN').replace(/: .*/, ': …'))
    .map((line) => line.replace(/[\d.]+ s$/, 'N s').replace(/\d+ \(estimated cost US\$ [\d.]+\)/, 'N'));

describe('sdw-etl run on a terminal and in a pipe', () => {
  let pipeline: Pipeline;
  let env: Record<string, string>;
  const socket = `sdw-etl-test-${randomUUID().slice(0, 8)}`;
  // Asynchronous: the worker runs in this process, and a blocking call would stall it at every look at the screen.
  const tmux = async (...args: string[]): Promise<string> =>
    (await promisify(execFile)('tmux', ['-L', socket, ...args], { encoding: 'utf8' })).stdout;

  beforeAll(async () => {
    pipeline = await startPipeline({ customers: customers + 1, llmFaults: { latencyMs: llmLatencyMs } });
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
    rmSync(path.join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
    await pipeline.close();
  });

  test('2,000 customers: the bar shows the total, a plausible percent and an ETA within 30% of what was left', async () => {
    const ids = Array.from({ length: customers }, (_, i) => i + 2); // the bank refuses updates of customer 1
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
    const deadline = Date.now() + 400_000;
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
    const ttyCode = /exit code (\d+)/.exec(screen)?.[1];

    // The same run in a pipe, faster (its ETA is not checked; at most 100 customers/s, 20 s or more: several
    // lines): plain lines every few seconds, no escape codes, the same summary.
    pipeline.llm.faults.latencyMs = 100;
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
    expect([ttyCode, piped.code]).toEqual(['0', 0]);
    expect(piped.stdout).not.toContain('\u001b');
    expect(piped.stdout).not.toContain('\r');
    const lines = piped.stdout.split('\n').filter((l) => l.startsWith('progress: '));
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines)
      expect(line).toMatch(
        /^progress: \d+\/\d+ customers \d+% \| [\d.-]+(\/s)? \| ETA \S+ \| [^|]+ \| loaded \d+ skipped \d+ failed \d+ \| mock \d+ template \d+ \| \d+ in flight$/,
      );
    expect(lines[0]).toMatch(/^progress: \d+\/2000 customers /);
    expect(summaryOf(screen.slice(0, screen.indexOf('exit code')))).toEqual(summaryOf(piped.stdout));
    expect(summaryOf(piped.stdout)).toContain('  loaded      2000');
  }, 900_000);
});
