// The LLM simulator's Files and Batches endpoints, shaped as the `openai` package's types shape them: JSONL uploaded,
// a batch that takes --batch-duration-ms, then output and error files; knobs for failed lines, expired and failed batches.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type OpenAI from 'openai';
import { readRequestBytes, sendJson, sendText } from './http';

export type BatchOutcome = 'completed' | 'expired' | 'failed';
export const batchOutcomes: readonly BatchOutcome[] = ['completed', 'expired', 'failed'];

export interface LlmBatchFaults {
  /** How long a batch takes from creation to its end. */
  batchDurationMs: number;
  /** Fraction of a completed batch's lines that fail (they go to the error file). */
  batchLineErrorRate: number;
  /** How each batch created from now on ends; an expired batch has answered its first half. */
  batchOutcome: BatchOutcome;
}

export const noLlmBatchFaults = (): LlmBatchFaults => ({
  batchDurationMs: 1_000,
  batchLineErrorRate: 0,
  batchOutcome: 'completed',
});

/** The provider's limit on one upload, and more than this simulator ever needs to hold. */
const maxUploadBytes = 200 * 1024 * 1024;

interface StoredBatch {
  batch: OpenAI.Batches.Batch;
  outcome: BatchOutcome;
  endsAt: number;
}

/** What the batch endpoints keep, for tests to look at: the files uploaded and the batches created. */
export interface LlmBatchState {
  files: Map<string, { file: OpenAI.Files.FileObject; content: string }>;
  batches: Map<string, StoredBatch>;
}

/** A chat completion as the simulator's sync endpoint would answer it. */
export type AnswerChat = (body: unknown) => OpenAI.Chat.Completions.ChatCompletion;

/** The named fields of a multipart/form-data body (as `openai.files.create` sends it). */
function formFields(body: Buffer, contentType: string): Map<string, string> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  const fields = new Map<string, string>();
  if (!boundary) return fields;
  const text = body.toString('utf8');
  for (const part of text.split(`--${boundary[1] ?? boundary[2]}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const name = /name="([^"]+)"/.exec(part.slice(0, split))?.[1];
    if (name) fields.set(name, part.slice(split + 4).replace(/\r\n$/, ''));
  }
  return fields;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

export function createBatchRoutes(faults: LlmBatchFaults, answerChat: AnswerChat) {
  const state: LlmBatchState = { files: new Map(), batches: new Map() };
  let made = 0;
  const nextId = (prefix: string): string => `${prefix}-sim-${++made}`;
  const error = (res: ServerResponse, status: number, message: string): true => {
    sendJson(res, status, { error: { message, type: 'invalid_request_error', param: null, code: null } });
    return true;
  };

  const storeFile = (content: string, filename: string, purpose: OpenAI.Files.FileObject['purpose']): string => {
    const file: OpenAI.Files.FileObject = {
      id: nextId('file'),
      object: 'file',
      bytes: Buffer.byteLength(content),
      created_at: seconds(Date.now()),
      filename,
      purpose,
      status: 'processed',
    };
    state.files.set(file.id, { file, content });
    return file.id;
  };

  /** Ends a batch whose time has come: answers its lines into an output file, the failed ones into an error file. */
  function settle(stored: StoredBatch, now: number): void {
    const { batch } = stored;
    if (batch.status === 'cancelling') {
      Object.assign(batch, { status: 'cancelled', cancelled_at: seconds(now) });
      return;
    }
    if (!['validating', 'in_progress'].includes(batch.status)) return;
    if (now < stored.endsAt) {
      if (batch.status === 'validating') Object.assign(batch, { status: 'in_progress', in_progress_at: seconds(now) });
      return;
    }
    if (stored.outcome === 'failed') {
      Object.assign(batch, {
        status: 'failed',
        failed_at: seconds(now),
        errors: { object: 'list', data: [{ code: 'invalid_request', line: null, message: 'The batch failed.' }] },
      });
      return;
    }
    const lines = (state.files.get(batch.input_file_id)?.content ?? '').split('\n').filter((l) => l.trim() !== '');
    const output: string[] = [];
    const errors: string[] = [];
    lines.forEach((line, i) => {
      const request = JSON.parse(line) as { custom_id: string; body: unknown };
      const id = `batch_req_${batch.id}_${i}`;
      const expired = stored.outcome === 'expired' && i >= lines.length / 2;
      if (expired || Math.random() < faults.batchLineErrorRate) {
        const code = expired ? 'batch_expired' : 'server_error';
        const message = expired
          ? 'This request could not be executed before the completion window expired.'
          : 'The server had an error.';
        errors.push(JSON.stringify({ id, custom_id: request.custom_id, response: null, error: { code, message } }));
        return;
      }
      const body = answerChat(request.body);
      const response = { status_code: 200, request_id: `req-${id}`, body };
      output.push(JSON.stringify({ id, custom_id: request.custom_id, response, error: null }));
    });
    const end =
      stored.outcome === 'expired' ? { status: 'expired', expired_at: seconds(now) } : { status: 'completed' };
    Object.assign(batch, {
      ...end,
      finalizing_at: seconds(now),
      completed_at: stored.outcome === 'completed' ? seconds(now) : undefined,
      request_counts: { total: lines.length, completed: output.length, failed: errors.length },
      output_file_id: output.length
        ? storeFile(output.join('\n') + '\n', 'batch_output.jsonl', 'batch_output')
        : undefined,
      error_file_id: errors.length
        ? storeFile(errors.join('\n') + '\n', 'batch_errors.jsonl', 'batch_output')
        : undefined,
    });
  }

  const batchOf = (id: string): OpenAI.Batches.Batch | undefined => {
    const stored = state.batches.get(id);
    if (stored) settle(stored, Date.now());
    return stored?.batch;
  };

  /** Answers a Files or Batches request; false when the route is none of theirs. */
  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const route = `${req.method} ${url.pathname.replace(/\/(file|batch)-sim-\d+/, '/{id}')}`;
    const id = /\/((?:file|batch)-sim-\d+)/.exec(url.pathname)?.[1] ?? '';
    switch (route) {
      case 'POST /v1/files': {
        const body = await readRequestBytes(req, maxUploadBytes);
        if (!body) return error(res, 413, 'The file is larger than 200 MB.');
        const fields = formFields(body, req.headers['content-type'] ?? '');
        const content = fields.get('file');
        if (fields.get('purpose') !== 'batch' || content === undefined)
          return error(res, 400, "A batch input needs purpose 'batch' and a file.");
        sendJson(res, 200, state.files.get(storeFile(content, 'batch_input.jsonl', 'batch'))!.file);
        return true;
      }
      case 'GET /v1/files/{id}/content': {
        const file = state.files.get(id);
        if (!file) return error(res, 404, `No such File object: ${id}`);
        sendText(res, 200, file.content, { 'content-type': 'application/jsonl' });
        return true;
      }
      case 'POST /v1/batches': {
        const text = (await readRequestBytes(req, maxUploadBytes))?.toString('utf8') ?? '';
        const params = JSON.parse(text || '{}') as Partial<OpenAI.Batches.BatchCreateParams>;
        const input = state.files.get(params.input_file_id ?? '');
        if (!input || params.endpoint !== '/v1/chat/completions' || params.completion_window !== '24h')
          return error(res, 400, 'A batch needs an uploaded input file, /v1/chat/completions and 24h.');
        const now = Date.now();
        const total = input.content.split('\n').filter((l) => l.trim() !== '').length;
        const batch: OpenAI.Batches.Batch = {
          id: nextId('batch'),
          object: 'batch',
          endpoint: params.endpoint,
          input_file_id: input.file.id,
          completion_window: '24h',
          status: 'validating',
          created_at: seconds(now),
          expires_at: seconds(now) + 24 * 3600,
          request_counts: { total, completed: 0, failed: 0 },
          metadata: params.metadata ?? null,
        };
        state.batches.set(batch.id, { batch, outcome: faults.batchOutcome, endsAt: now + faults.batchDurationMs });
        sendJson(res, 200, batch);
        return true;
      }
      case 'GET /v1/batches': {
        // Newest first, as the provider lists them; one page is all a simulator needs.
        const data = [...state.batches.keys()].reverse().map((key) => batchOf(key)!);
        sendJson(res, 200, { object: 'list', data, first_id: data[0]?.id, last_id: data.at(-1)?.id, has_more: false });
        return true;
      }
      case 'GET /v1/batches/{id}': {
        const batch = batchOf(id);
        if (!batch) return error(res, 404, `No such Batch object: ${id}`);
        sendJson(res, 200, batch);
        return true;
      }
      case 'POST /v1/batches/{id}/cancel': {
        const batch = batchOf(id);
        if (!batch) return error(res, 404, `No such Batch object: ${id}`);
        if (['validating', 'in_progress'].includes(batch.status))
          Object.assign(batch, { status: 'cancelling', cancelling_at: seconds(Date.now()) });
        sendJson(res, 200, batch);
        return true;
      }
      default:
        return false;
    }
  }
  /** Whether a path is one of the Files or Batches endpoints'. */
  const serves = (url: URL): boolean => /^\/v1\/(files|batches)(\/|$)/.test(url.pathname);
  return { state, handle, serves };
}
