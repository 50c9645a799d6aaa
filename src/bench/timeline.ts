// One clock for every system the benchmark runs: each request the simulators answer (Node's HTTP diagnostics
// channels), and from them each customer's latency, steps, gaps between steps, lane wait and the lanes in use.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** Now, in ms since the epoch to the microsecond: one clock for this process and the scripts it starts. */
export const now = (): number => performance.timeOrigin + performance.now();

/** One request a simulator answered, in ms since the epoch. */
export interface Span {
  port: number;
  method: string;
  path: string;
  start: number;
  end: number;
  status: number;
  /** LLM requests: the first name the prompt carried (the only link from an LLM call to its customer). */
  name?: string;
}

interface ServerMessage {
  request: IncomingMessage;
  response: ServerResponse;
  server: Server;
}

/** Records every request the HTTP servers of this process answer, from its arrival to the last byte of the answer. */
export class RequestRecorder {
  private spans: Span[] = [];
  private readonly open = new WeakMap<IncomingMessage, Span>();
  private readonly onStart = (message: unknown): void => {
    const { request, server } = message as ServerMessage;
    const span: Span = {
      port: (server.address() as AddressInfo).port,
      method: request.method ?? '',
      path: (request.url ?? '').split('?')[0]!,
      start: now(),
      end: 0,
      status: 0,
    };
    this.open.set(request, span);
    if (span.method === 'POST' && span.path.endsWith('/chat/completions')) {
      // The body is read by the simulator too: a 'data' listener sees the chunks its reads take.
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => (span.name = /"([^"]*)"/.exec(userPrompt(Buffer.concat(chunks).toString()))?.[1]));
    }
  };
  private readonly onFinish = (message: unknown): void => {
    const { request, response } = message as ServerMessage;
    const span = this.open.get(request);
    if (!span) return;
    span.end = now();
    span.status = response.statusCode;
    this.spans.push(span);
  };

  constructor() {
    subscribe('http.server.request.start', this.onStart);
    subscribe('http.server.response.finish', this.onFinish);
  }

  /** The spans of these ports (a system's own simulators) answered so far, no longer kept. */
  take(ports: number[]): Span[] {
    const taken = this.spans.filter((span) => ports.includes(span.port));
    this.spans = this.spans.filter((span) => !ports.includes(span.port));
    return taken;
  }

  close(): void {
    unsubscribe('http.server.request.start', this.onStart);
    unsubscribe('http.server.response.finish', this.onFinish);
  }
}

function userPrompt(body: string): string {
  try {
    const messages = (JSON.parse(body) as { messages?: { role: string; content: unknown }[] }).messages ?? [];
    const content = messages.find((m) => m.role === 'user')?.content;
    return typeof content === 'string' ? content : '';
  } catch {
    return '';
  }
}

export const portOf = (url: string): number => Number(new URL(url).port);

/** Nearest-rank percentile of sorted values. */
export const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
const mean = (values: number[]): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
const round = (x: number, digits = 0): number => Number(x.toFixed(digits));

/** A customer as the simulators saw it: its span and each step's time at the simulator. */
interface CustomerTimes {
  start: number;
  end: number;
  fetch: number;
  llm: number;
  getBeforeLoad: number;
  put: number;
  requests: number;
}

/** The mean, p50 and p95 of one component of the breakdown, in ms. */
export interface Spread {
  mean: number;
  p50: number;
  p95: number;
}
const spread = (values: number[]): Spread => {
  const sorted = [...values].sort((a, b) => a - b);
  return { mean: round(mean(values), 1), p50: round(percentile(sorted, 50)), p95: round(percentile(sorted, 95)) };
};

/** Customers in flight, sampled every 50 ms: their mean and p10. */
export interface LanesInUse {
  mean: number;
  p10: number;
}
const lanesInUse = (samples: number[]): LanesInUse => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { mean: round(mean(sorted), 1), p10: percentile(sorted, 10) };
};

export interface Timeline {
  customers: number;
  /** First request to last answer of each customer, wall clock, ms. */
  meanLatencyMs: number;
  p50LatencyMs: number;
  p95LatencyMs: number;
  /** Customers in flight (between their first request and last answer), sampled every 50 ms of the system's wall time. */
  lanesInUse: LanesInUse;
  /**
   * The same while C or more customers were yet to end (every lane had work), from the system's start and from its
   * first request.
   */
  lanesInUseWhileWorkLeft: { fromStart: LanesInUse; fromFirstRequest: LanesInUse };
  /** Requests each customer made (4 when nothing was retried). */
  requestsPerCustomer: number;
  /** The floor the work done allows: C lanes over each customer's time at the simulators (retries included), per s. */
  boundPerSecond: number;
  /** Per customer, ms: waiting for a free lane (a lane was free and no customer took it), each step, between steps. */
  breakdownMs: {
    laneWait: Spread;
    getCustomer: Spread;
    llm: Spread;
    getBeforePut: Spread;
    put: Spread;
    betweenSteps: Spread;
    /** The three gaps that make up betweenSteps, for customers whose LLM call was matched. */
    fetchToLlm: Spread;
    llmToLoad: Spread;
    getToPut: Spread;
  };
  /** Customers no LLM call could be matched to by name and time (their LLM time counts as between steps). */
  unmatchedLlm: number;
  /** From the system's start to its first request, and from its last answer to its end (the export, for sdw-etl), ms. */
  beforeFirstRequestMs: number;
  afterLastAnswerMs: number;
}

/**
 * Each customer's times, from the bank's requests (/users/{id}) and the LLM's (matched by the first name `nameOf`
 * gives, between the customer's fetch and its next GET). `wall` is the system's start and end on the same clock.
 */
export function analyse(
  spans: Span[],
  bankPort: number,
  nameOf: (id: number) => string,
  lanes: number,
  wall: { start: number; end: number },
): Timeline {
  const byId = new Map<number, Span[]>();
  const llmByName = new Map<string, Span[]>();
  for (const span of [...spans].sort((a, b) => a.start - b.start)) {
    const id = /^\/users\/(\d+)$/.exec(span.path)?.[1];
    if (span.port === bankPort && id) byId.set(Number(id), [...(byId.get(Number(id)) ?? []), span]);
    else if (span.method === 'POST' && span.path.endsWith('/chat/completions')) {
      llmByName.set(span.name ?? '', [...(llmByName.get(span.name ?? '') ?? []), span]);
    }
  }
  const customers: (CustomerTimes & { id: number; llmFrom: number; llmTo: number; getToPut: number })[] = [];
  for (const [id, requests] of byId) {
    const fetched = requests.findIndex((r) => r.method === 'GET' && r.status < 300);
    const putAt = requests.findIndex((r) => r.method === 'PUT');
    const before = putAt > 0 ? requests[putAt - 1] : undefined;
    const first = requests[0]!;
    const last = requests[requests.length - 1]!;
    customers.push({
      id,
      start: first.start,
      end: last.end,
      fetch: fetched >= 0 ? requests[fetched]!.end - first.start : 0,
      llm: 0,
      getBeforeLoad: before?.method === 'GET' ? before.end - before.start : 0,
      put: putAt >= 0 ? requests[putAt]!.end - requests[putAt]!.start : 0,
      requests: requests.length,
      // The customer's LLM call lies between its fetch and its next GET.
      llmFrom: fetched >= 0 ? requests[fetched]!.end : first.start,
      llmTo: requests[fetched + 1]?.start ?? last.end,
      getToPut: before?.method === 'GET' ? requests[putAt]!.start - before.end : 0,
    });
  }
  // The earliest call not yet taken with the customer's first name that started between its fetch and its next GET
  // (one: the bench's LLM gives no bad replies, so a customer makes one call). Its end may be recorded a little after
  // that GET arrived: a client that sends the GET as soon as it has read the answer can beat the LLM simulator's own
  // record of having sent it, both simulators being in this process.
  const used = new Set<Span>();
  const gaps: { fetchToLlm: number[]; llmToLoad: number[]; getToPut: number[] } = {
    fetchToLlm: [],
    llmToLoad: [],
    getToPut: [],
  };
  let unmatched = 0;
  for (const customer of [...customers].sort((a, b) => a.llmFrom - b.llmFrom)) {
    const calls = llmByName.get(nameOf(customer.id)) ?? [];
    const call = calls.find((c) => !used.has(c) && c.start >= customer.llmFrom - 1 && c.start <= customer.llmTo);
    if (!call) {
      unmatched += 1;
      continue;
    }
    used.add(call);
    customer.llm = call.end - call.start;
    customer.requests += 1;
    gaps.fetchToLlm.push(call.start - customer.llmFrom);
    gaps.llmToLoad.push(Math.max(0, customer.llmTo - call.end));
    gaps.getToPut.push(customer.getToPut);
  }

  const starts = customers.map((c) => c.start).sort((a, b) => a - b);
  const ends = customers.map((c) => c.end).sort((a, b) => a - b);
  // The k-th customer to start could have started when the (k-C)-th customer ended (or at the system's start).
  const laneWait = starts.map((start, k) => Math.max(0, start - (k < lanes ? wall.start : ends[k - lanes]!)));
  const latencies = customers.map((c) => c.end - c.start).sort((a, b) => a - b);
  const work = customers.map((c) => c.fetch + c.llm + c.getBeforeLoad + c.put);
  // Until the (N - C + 1)-th customer to end had ended, C or more customers were yet to end.
  const workLeftUntil = ends.length >= lanes ? ends[ends.length - lanes]! : wall.start;
  const firstRequest = starts[0] ?? wall.start;
  const inUse: number[] = [];
  const whileWorkLeft: number[] = [];
  const whileWorkLeftFromFirstRequest: number[] = [];
  for (let t = wall.start; t < wall.end; t += 50) {
    const busy = customers.filter((c) => c.start <= t && c.end > t).length;
    inUse.push(busy);
    if (t < workLeftUntil) whileWorkLeft.push(busy);
    if (t >= firstRequest && t < workLeftUntil) whileWorkLeftFromFirstRequest.push(busy);
  }
  return {
    customers: customers.length,
    meanLatencyMs: round(mean(latencies), 1),
    p50LatencyMs: round(percentile(latencies, 50)),
    p95LatencyMs: round(percentile(latencies, 95)),
    lanesInUse: lanesInUse(inUse),
    lanesInUseWhileWorkLeft: {
      fromStart: lanesInUse(whileWorkLeft),
      fromFirstRequest: lanesInUse(whileWorkLeftFromFirstRequest),
    },
    requestsPerCustomer: round(mean(customers.map((c) => c.requests)), 2),
    boundPerSecond: round((lanes * 1000) / Math.max(1, mean(work)), 1),
    breakdownMs: {
      laneWait: spread(laneWait),
      getCustomer: spread(customers.map((c) => c.fetch)),
      llm: spread(customers.map((c) => c.llm)),
      getBeforePut: spread(customers.map((c) => c.getBeforeLoad)),
      put: spread(customers.map((c) => c.put)),
      betweenSteps: spread(customers.map((c, i) => c.end - c.start - work[i]!)),
      fetchToLlm: spread(gaps.fetchToLlm),
      llmToLoad: spread(gaps.llmToLoad),
      getToPut: spread(gaps.getToPut),
    },
    unmatchedLlm: unmatched,
    beforeFirstRequestMs: round(Math.max(0, (starts[0] ?? wall.start) - wall.start)),
    afterLastAnswerMs: round(Math.max(0, wall.end - (ends.at(-1) ?? wall.end))),
  };
}
