// HTTP as the activities speak it to the bank API and the LLM: one request with a deadline and a size limit over
// kept-alive connections, and what the services sdw-etl calls (the bank API, the LLM) say about when to come back.
import http from 'node:http';
import https from 'node:https';

/** When a service is rate limiting without saying for how long. */
const defaultRetryAfterMs = 1_000;

/** A Retry-After header (seconds or an HTTP date) in milliseconds from now. */
export function retryAfterMs(header: string | null, fallbackMs = defaultRetryAfterMs): number {
  if (header === null) return fallbackMs;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? fallbackMs : Math.max(0, date - Date.now());
}

/**
 * An idle connection is closed after this long, under the 5 s a Node server keeps one open (Tomcat keeps one 20 s
 * or more): a request is never sent on a connection its server is closing.
 */
const idleConnectionMs = 4_000;
// node:http rather than fetch: a third of fetch's CPU a request (docs/benchmarks.md, "Where the time goes").
const agents: Record<string, http.Agent> = {
  'http:': new http.Agent({ keepAlive: true, timeout: idleConnectionMs }),
  'https:': new https.Agent({ keepAlive: true, timeout: idleConnectionMs }),
};

/** An answer read whole. */
export interface HttpAnswer {
  status: number;
  header(name: string): string | null;
  /** Every header as sent, in order. */
  headerList(): [string, string][];
  body: string;
}

/** Why a request has no answer to read: none came, it broke off, or it is larger than the caller takes. */
export class HttpExchangeError extends Error {
  constructor(
    readonly problem: 'no answer' | 'broke off' | 'too large',
    message: string,
    /** The length the answer declared, when that alone is over the limit. */
    readonly declaredBytes?: number,
  ) {
    super(message);
  }
}

export interface HttpRequest {
  method: 'GET' | 'PUT' | 'POST';
  headers: Record<string, string>;
  body?: string;
  /** From sending the request to the answer's last byte. */
  timeoutMs: number;
  /** Ends the request, which then fails with the signal's reason. */
  signal?: AbortSignal;
  /** An answer longer than this is cut off, never held in memory. */
  maxBytes: number;
}

/** One request, its answer read whole; redirects are answers like any other, never followed. */
export function exchange(url: string, request: HttpRequest): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    let answered = false;
    // Once settled, nothing more is done: a connection handed back to the pool is another request's.
    let settled = false;
    const end = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.signal?.removeEventListener('abort', aborted);
      req.destroy();
      reject(err);
    };
    const fail = (problem: HttpExchangeError['problem'], message: string, declaredBytes?: number): void =>
      end(new HttpExchangeError(problem, message, declaredBytes));
    const aborted = (): void => {
      const reason: unknown = request.signal?.reason;
      end(reason instanceof Error ? reason : new DOMException('This operation was aborted', 'AbortError'));
    };
    const headers = { ...request.headers };
    if (request.body !== undefined) headers['content-length'] = String(Buffer.byteLength(request.body));
    const req = (target.protocol === 'https:' ? https : http).request(
      target,
      { method: request.method, headers, agent: agents[target.protocol] },
      (res) => {
        answered = true;
        const declared = Number(res.headers['content-length'] ?? '0');
        if (declared > request.maxBytes) return fail('too large', `${declared} bytes`, declared);
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > request.maxBytes) return fail('too large', `over ${request.maxBytes} bytes`);
          chunks.push(chunk);
        });
        res.on('error', (err) => fail('broke off', err.message));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(deadline);
          request.signal?.removeEventListener('abort', aborted);
          resolve({
            status: res.statusCode ?? 0,
            header: (name) => {
              const value = res.headers[name.toLowerCase()];
              return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
            },
            headerList: () =>
              Array.from({ length: res.rawHeaders.length / 2 }, (_, i): [string, string] => [
                res.rawHeaders[2 * i]!,
                res.rawHeaders[2 * i + 1]!,
              ]),
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    const deadline = setTimeout(
      () => fail(answered ? 'broke off' : 'no answer', `no answer within ${request.timeoutMs} ms`),
      request.timeoutMs,
    );
    req.on('error', (err: NodeJS.ErrnoException) =>
      fail(answered ? 'broke off' : 'no answer', err.code ?? err.message),
    );
    if (request.signal?.aborted) return aborted();
    request.signal?.addEventListener('abort', aborted, { once: true });
    req.end(request.body);
  });
}
