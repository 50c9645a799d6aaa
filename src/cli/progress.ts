// A run's progress as a person or a script follows it: a bar on a terminal (done/total, percent, rate, ETA, counts,
// state), a plain line every few seconds off one (CI, a pipe), nothing with --quiet or --json.
import { createReadStream } from 'node:fs';
import { Format, SingleBar } from 'cli-progress';
import { countOf, customerStatuses } from '../outcomes';
import type { Progress } from '../workflows/api';

/** Off a terminal, one line this often: a CI log shows the run moving without a line per poll. */
export const plainLineEveryMs = 5_000;
/** The rate is measured over this much recent time: batches' starts and ends even out, a change of pace shows. */
const rateWindowMs = 30_000;
/** Under this much measured time the rate is the run's average since it started (a watch that just began). */
const shortestWindowMs = 5_000;

/**
 * Counts the data rows of a CSV (its non-empty lines after the header) without parsing it: the bar's total, known
 * before the run starts. Undefined when the file cannot be read here (a run started on another host).
 */
export async function countDataRows(file: string): Promise<number | undefined> {
  const hasContent = (chunk: Buffer, from: number, to: number): boolean =>
    to - from > 1 || (to - from === 1 && chunk[from] !== 0x0d);
  let lines = 0;
  let content = false; // the line read so far holds more than a carriage return
  try {
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      let from = 0;
      for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, from)) {
        if (content || hasContent(chunk, from, end)) lines += 1;
        content = false;
        from = end + 1;
      }
      content ||= hasContent(chunk, from, chunk.length);
    }
  } catch {
    return undefined;
  }
  if (content) lines += 1;
  return Math.max(0, lines - 1);
}

/** Customers per second over the last rateWindowMs, from the done counts seen at each poll. */
export class RateMeter {
  private samples: { at: number; done: number }[] = [];

  constructor(private readonly startedAt: number) {}

  /** Records `done` at time `at` (ms) and returns the rate, undefined before anything is done. */
  add(at: number, done: number): number | undefined {
    this.samples.push({ at, done });
    // Keeps the newest sample older than the window as its start.
    while (this.samples.length > 2 && this.samples[1]!.at <= at - rateWindowMs) this.samples.shift();
    const first = this.samples[0]!;
    if (at - first.at >= shortestWindowMs) return ((done - first.done) * 1000) / (at - first.at);
    return done > 0 && at > this.startedAt ? (done * 1000) / (at - this.startedAt) : undefined;
  }
}

/** A number of seconds as 42s, 3m07s or 2h05m. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

const timeOf = (iso: string): string => iso.slice(11, 19);

/** What the run is doing, in words: running, paused, waiting for the bank API, cancelling, exporting. */
export function stateText(p: Progress): string {
  if (p.state === 'draining') return 'cancelling: the customers in flight finish';
  if (p.state === 'paused') return `paused (sdw-etl resume ${p.runId})`;
  if (p.state !== 'running') return p.state;
  if (p.bankApi.status === 'down') return `waiting for the bank API since ${timeOf(p.bankApi.since!)}`;
  if (p.bankApi.status === 'gaveUp') return `bank API down since ${timeOf(p.bankApi.since!)}: failure policies apply`;
  return 'running';
}

export interface ProgressView {
  done: number;
  /** Customers the run will have done at its end; undefined when the input cannot be counted here. */
  total: number | undefined;
  /** The line beside the bar, and the plain line off a terminal. */
  text: string;
}

/** Statuses the bar always shows; the others once a customer has them. */
const alwaysShown: readonly string[] = ['loaded', 'skipped', 'failed'];

/**
 * The run's progress for the bar: `rows` is the input's data rows (countDataRows); the rows the run set aside
 * (invalid, duplicates) come off it as they are found, so the total ends equal to the customers done.
 */
export function viewOf(p: Progress, rows: number | undefined, rate: number | undefined): ProgressView {
  const c = p.counts;
  const done = customerStatuses.reduce((sum, status) => sum + c[countOf[status]], 0);
  const total = rows === undefined ? undefined : Math.max(rows - c.invalid - c.duplicates, done + p.inFlight);
  const parts: string[] = [];
  if (total === undefined) parts.push(`${done} customers done`);
  else parts.push(`${done}/${total} customers ${total === 0 ? 100 : Math.floor((done * 100) / total)}%`);
  parts.push(rate === undefined ? '-/s' : `${rate.toFixed(1)}/s`);
  const eta =
    total === undefined || p.state !== 'running' || p.bankApi.status === 'down' || !rate
      ? '-'
      : formatEta((total - done) / rate);
  parts.push(`ETA ${eta}`, stateText(p));
  parts.push(
    customerStatuses
      .filter((status) => alwaysShown.includes(status) || c[countOf[status]] > 0)
      .map((status) => `${status.replace('_', ' ')} ${c[countOf[status]]}`)
      .join(' '),
  );
  parts.push(`mock ${c.fromMock} template ${c.templated}`, `${p.inFlight} in flight`);
  return { done, total, text: parts.join(' | ') };
}

export interface ProgressDisplay {
  show(progress: Progress): void;
  stop(): void;
}

/** How a command shows a run's progress: a bar on a terminal, plain lines off one, or not at all. */
export type ProgressMode = 'bar' | 'lines' | 'none';

export const progressModeFor = (flags: { quiet?: boolean; json?: boolean }): ProgressMode =>
  flags.quiet || flags.json ? 'none' : process.stdout.isTTY ? 'bar' : 'lines';

/** Shows a run's progress in `mode`; `rows` is the input's data rows when known (countDataRows). */
export function progressDisplay(mode: ProgressMode, rows: number | undefined, now = Date.now): ProgressDisplay {
  if (mode === 'none') return { show: () => undefined, stop: () => undefined };
  let meter: RateMeter | undefined;
  const viewAt = (p: Progress): ProgressView => {
    meter ??= new RateMeter(Date.parse(p.startedAt));
    return viewOf(
      p,
      rows,
      meter.add(
        now(),
        customerStatuses.reduce((sum, s) => sum + p.counts[countOf[s]], 0),
      ),
    );
  };
  if (mode === 'lines') {
    let lastLine = 0;
    return {
      show(p) {
        const view = viewAt(p);
        if (now() - lastLine < plainLineEveryMs) return;
        lastLine = now();
        console.log(`progress: ${view.text}`);
      },
      stop: () => undefined,
    };
  }
  const bar = new SingleBar({
    stream: process.stdout,
    format: (options, params, payload: { text: string }) =>
      `[${Format.BarFormat(params.progress, options)}] ${payload.text}`,
    barsize: 24,
    barCompleteChar: '█',
    barIncompleteChar: '░',
  });
  let started = false;
  return {
    show(p) {
      const view = viewAt(p);
      // Unknown total: an empty bar, the count beside it.
      const total = Math.max(1, view.total ?? 1);
      const value = view.total === undefined ? 0 : view.done;
      if (!started) {
        bar.start(total, value, { text: view.text });
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(value, { text: view.text });
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
