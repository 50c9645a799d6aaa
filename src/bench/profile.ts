// What the worker's CPU went on: the V8 CPU profiles `--cpu-prof` wrote (one per thread), summed by where the
// code comes from (the Temporal SDK, sdw-etl, Node, other packages, the garbage collector) and by function.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** CPU seconds sampled across the worker's threads, idle excluded. */
  busySeconds: number;
  /** The same by thread: `main` (activities, the bridge to Core) and each worker thread (the workflows). */
  busySecondsByThread: Record<string, number>;
  /** Share of the busy time by origin, largest first. */
  byOrigin: { origin: string; share: number }[];
  /** The functions with the most self time, largest first. */
  topFunctions: { fn: string; share: number }[];
}

/** Where a frame's code comes from. */
function originOf(frame: ProfileNode['callFrame']): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(program)') return 'native (V8, Node, the SDK’s Rust core)';
    return `other native (${functionName || 'anonymous'})`;
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg?.startsWith('@temporalio/')) return `Temporal SDK (${pkg})`;
  if (pkg) return `package ${pkg}`;
  if (url.startsWith('node:')) return 'Node';
  if (/\/dist\//.test(url)) return 'sdw-etl (dist/)';
  return 'workflow bundle (sdw-etl workflows and the SDK’s workflow runtime)';
}

/** Sums every profile in `dir` over `windowUs` (the monotonic clock, µs, as process.hrtime); idle samples left out. */
export function summariseProfiles(dir: string, windowUs: [number, number]): ProfileSummary {
  const byOrigin = new Map<string, number>();
  const byFunction = new Map<string, number>();
  const byThread: Record<string, number> = {};
  let busy = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    // Node names a profile CPU.<date>.<time>.<pid>.<thread id>.<n>.cpuprofile; thread 0 is the main thread.
    const threadId = file.split('.').at(-3) ?? '?';
    const thread = threadId === '0' ? 'main' : `thread ${threadId}`;
    const busyBefore = busy;
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    let at = profile.startTime;
    profile.samples.forEach((id, i) => {
      const frame = nodes.get(id)?.callFrame;
      const micros = profile.timeDeltas[i] ?? 0;
      at += micros;
      if (!frame || frame.functionName === '(idle)' || at < windowUs[0] || at > windowUs[1]) return;
      busy += micros;
      const origin = originOf(frame);
      byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + micros);
      const where = frame.url ? `${path.basename(frame.url)}:${frame.lineNumber + 1}` : 'native';
      const fn = `${frame.functionName || '(anonymous)'} ${where}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
    });
    byThread[thread] = Number(((busy - busyBefore) / 1e6).toFixed(1));
  }
  const shares = <K extends string>(
    map: Map<string, number>,
    key: K,
    top: number,
  ): ({ share: number } & Record<K, string>)[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([name, micros]) =>
          ({ [key]: name, share: Number((micros / Math.max(1, busy)).toFixed(3)) }) as { share: number } & Record<
            K,
            string
          >,
      );
  return {
    busySeconds: Number((busy / 1e6).toFixed(1)),
    busySecondsByThread: byThread,
    byOrigin: shares(byOrigin, 'origin', 12),
    topFunctions: shares(byFunction, 'fn', 15),
  };
}
