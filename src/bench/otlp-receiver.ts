// A small OTLP/HTTP trace receiver on loopback: it takes the spans a worker posts to /v1/traces (JSON, as the
// OpenTelemetry HTTP exporter sends them) and counts them, keeping them too when asked (the telemetry test does).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as OTLP/HTTP JSON carries it. */
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

export interface OtlpReceiver {
  /** The endpoint to give OTEL_EXPORTER_OTLP_ENDPOINT. */
  url: string;
  port: number;
  /** Spans received so far. */
  received: () => number;
  /** The spans received, when kept (`keepSpans`); empty otherwise. */
  spans: OtlpSpan[];
  close: () => Promise<void>;
}

/** Starts a receiver on a free loopback port; `keepSpans` keeps every span in memory, not only their count. */
export async function startOtlpReceiver(options: { keepSpans: boolean }): Promise<OtlpReceiver> {
  const spans: OtlpSpan[] = [];
  let received = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const data = JSON.parse(Buffer.concat(chunks).toString()) as {
          resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[];
        };
        for (const r of data.resourceSpans) {
          for (const s of r.scopeSpans) {
            received += s.spans.length;
            if (options.keepSpans) spans.push(...s.spans);
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    received: () => received,
    spans,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
