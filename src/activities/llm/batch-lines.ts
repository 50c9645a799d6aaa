// The lines of OpenAI's batch files (the `openai` package does not type them): a request of the input file, a reply
// of the output or error file, and the custom_id that ties each to its customer.
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
