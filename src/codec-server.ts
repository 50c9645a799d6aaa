// The remote codec endpoint the Temporal Web UI and CLI call to show encrypted payloads decrypted
// (temporal server start-dev --ui-codec-endpoint http://127.0.0.1:8888). It listens on loopback only.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { EncryptionCodec, payloadFromJson, payloadToJson, type EncryptionKeys, type JsonPayload } from './codec';
import { close, listen, readRequestBody, sendJson, sendText } from './simulators/http';

export interface CodecServer {
  url: string;
  close: () => Promise<void>;
}

export async function startCodecServer(options: {
  keys: EncryptionKeys;
  port: number;
  origin: string;
}): Promise<CodecServer> {
  const codec = new EncryptionCodec(options.keys);
  const cors = {
    'access-control-allow-origin': options.origin,
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': 'content-type, x-namespace, authorization',
    'access-control-allow-credentials': 'true',
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors);
      return void res.end();
    }
    const route = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'POST' || (route !== '/encode' && route !== '/decode')) {
      return sendText(res, 404, 'Only POST /encode and POST /decode are served.', cors);
    }
    const text = await readRequestBody(req);
    let payloads: JsonPayload[];
    try {
      payloads = (JSON.parse(text ?? '') as { payloads: JsonPayload[] }).payloads;
      if (!Array.isArray(payloads)) throw new Error();
    } catch {
      return sendText(res, 400, 'The body must be JSON: {"payloads": [...]}.', cors);
    }
    try {
      const input = payloads.map(payloadFromJson);
      const output = route === '/encode' ? await codec.encode(input) : await codec.decode(input);
      return sendJson(res, 200, { payloads: output.map(payloadToJson) }, cors);
    } catch (err) {
      return sendText(res, 400, (err as Error).message, cors);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendText(res, 500, 'The codec server failed.', cors);
    });
  });
  const url = await listen(server, options.port);
  return { url, close: () => close(server) };
}
