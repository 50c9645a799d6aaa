// OpenAI's batch files: their lines (the `openai` package does not type them), a request of the input file, a reply of
// the output or error file, the custom_id that ties each to its customer; and how they are moved and worked through.
import type OpenAI from 'openai';

/** One request of a batch input file. */
export interface BatchLine {
  custom_id: string;
  method: 'POST';
  url: '/v1/chat/completions';
  body: { model: string; messages: { role: 'system' | 'user'; content: string }[]; max_tokens: number };
}

/** One line of a batch's output or error file. */
export interface BatchOutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: OpenAI.Chat.Completions.ChatCompletion } | null;
  error: { code: string; message: string } | null;
}

export const customIdOf = (id: number): string => `customer-${id}`;

/** The customer a custom_id names; undefined for one sdw-etl never writes. */
export function customerOfCustomId(customId: unknown): number | undefined {
  const match = typeof customId === 'string' ? /^customer-(\d{1,15})$/.exec(customId) : null;
  return match ? Number(match[1]) : undefined;
}

/** The JSON lines of a batch file, and how many lines were not JSON (the caller counts them, never drops them). */
export function batchReplies<T>(jsonl: string): { lines: T[]; unreadable: number } {
  const lines: T[] = [];
  let unreadable = 0;
  for (const line of jsonl.split('\n')) {
    if (line.trim() === '') continue;
    try {
      lines.push(JSON.parse(line) as T);
    } catch {
      unreadable += 1;
    }
  }
  return { lines, unreadable };
}

/** Uploading or downloading up to 200 MB takes longer than the client's 20 s request timeout allows. */
export const fileTransferTimeoutMs = 10 * 60_000;
/** Runs `fn` over `items`, `atOnce` at a time. */
export async function forEachAtOnce<T>(items: T[], atOnce: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, items.length) }, lane));
}
