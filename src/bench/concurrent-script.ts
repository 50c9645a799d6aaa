// The script a user would write instead of sdw-etl: a promise pool of C customers, each GET, LLM, GET, PUT with
// retries, sdw-etl's prompts and reply check, nothing durable. The benchmark runs it (and its loop, one at a time) as
// a process of its own, as a user would: node dist/bench/concurrent-script.js API LLM C FIRST_ID COUNT [--sequential]
import { performance } from 'node:perf_hooks';
import OpenAI from 'openai';
import { maxCompletionTokens, prompts } from '../activities/llm/prompts';
import { checkReply } from '../activities/llm/reply-check';
import { firstName, mockCustomer, newsIcon, templateMessage, type Locale } from '../personalize';

export interface ScriptOptions {
  apiUrl: string;
  llmBaseURL: string;
  apiKey: string;
  model: string;
  locale: Locale;
}

export type ScriptOutcome = 'loaded' | 'failed';

interface User {
  id: number;
  name: string | null;
  news?: { icon?: string | null; description?: string | null }[] | null;
  [field: string]: unknown;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An error worth asking again for: no answer, a 5xx, a 408 or a 429. */
class Retryable extends Error {}

/** Four attempts, 0.5 s, 1 s, 2 s apart: what sdw-etl's bank steps do. */
async function withRetries<T>(work: () => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof Retryable) || attempt >= attempts) throw err;
      await sleep(500 * 2 ** (attempt - 1));
    }
  }
}

async function bank(method: 'GET' | 'PUT', url: string, body?: User): Promise<User> {
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new Retryable(`${method} ${url}: ${(err as Error).message}`);
  }
  if (res.status >= 500 || res.status === 408 || res.status === 429)
    throw new Retryable(`${method} ${url}: ${res.status}`);
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status}`);
  return (await res.json()) as User;
}

/** One customer, the way sdw-etl does it: fetch (mock if the API does not answer), write, check, load. */
export function customerSteps(options: ScriptOptions): (id: number) => Promise<ScriptOutcome> {
  const openai = new OpenAI({ baseURL: options.llmBaseURL, apiKey: options.apiKey, maxRetries: 0, timeout: 20_000 });
  const prompt = prompts[options.locale];
  const userUrl = (id: number): string => `${options.apiUrl}/users/${id}`;

  async function writeMessage(id: number, name: string): Promise<string> {
    for (let attempt = 1; attempt <= 4; attempt++) {
      try {
        const completion = await openai.chat.completions.create({
          model: options.model,
          messages: [
            { role: 'system', content: prompt.system },
            { role: 'user', content: prompt.user(name) },
          ],
          max_tokens: maxCompletionTokens,
        });
        const checked = checkReply(completion.choices[0]?.message.content, options.locale, name);
        if ('message' in checked) return checked.message;
        continue; // a bad reply is asked for again at once
      } catch {
        await sleep(1000 * 2 ** (attempt - 1));
      }
    }
    return templateMessage(id, name, options.locale);
  }

  return async (id) => {
    let user: User;
    try {
      user = await withRetries(() => bank('GET', userUrl(id)));
    } catch (err) {
      if (!(err instanceof Retryable)) return 'failed';
      user = mockCustomer(id);
    }
    const message = await writeMessage(id, firstName(user.name, options.locale));
    try {
      const current = await withRetries(() => bank('GET', userUrl(id)));
      const news = current.news ?? [];
      if (news.some((item) => item.description === message)) return 'loaded';
      await withRetries(() =>
        bank('PUT', userUrl(id), { ...current, news: [...news, { icon: newsIcon, description: message }] }),
      );
      return 'loaded';
    } catch {
      return 'failed';
    }
  };
}

/** The pool: C customers in flight, each lane taking the next id as soon as its last customer is done. */
export async function runConcurrentScript(
  ids: number[],
  concurrency: number,
  options: ScriptOptions,
): Promise<ScriptOutcome[]> {
  const steps = customerSteps(options);
  const outcomes: ScriptOutcome[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < ids.length) {
      const i = next++;
      outcomes[i] = await steps(ids[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, lane));
  return outcomes;
}

/** The original notebook's shape: the same steps, one customer at a time. */
export async function runSequentialScript(ids: number[], options: ScriptOptions): Promise<ScriptOutcome[]> {
  const steps = customerSteps(options);
  const outcomes: ScriptOutcome[] = [];
  for (const id of ids) outcomes.push(await steps(id));
  return outcomes;
}

/** Prints when the customers started and ended (ms since the epoch, to the microsecond) and how many were loaded. */
async function main(): Promise<void> {
  const [apiUrl, llmBaseURL, lanes, firstId, count, mode] = process.argv.slice(2);
  const ids = Array.from({ length: Number(count) }, (_, i) => Number(firstId) + i);
  const options: ScriptOptions = {
    apiUrl: apiUrl!,
    llmBaseURL: llmBaseURL!,
    apiKey: process.env.OPENAI_API_KEY ?? 'sk-bench',
    model: 'gpt-4o-mini',
    locale: 'pt-BR',
  };
  const startedAt = performance.timeOrigin + performance.now();
  const outcomes =
    mode === '--sequential'
      ? await runSequentialScript(ids, options)
      : await runConcurrentScript(ids, Number(lanes), options);
  const endedAt = performance.timeOrigin + performance.now();
  console.log(JSON.stringify({ startedAt, endedAt, loaded: outcomes.filter((o) => o === 'loaded').length }));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`concurrent-script: ${(err as Error).message}`);
    process.exitCode = 1;
  });
}
