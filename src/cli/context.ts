// What every command shares: a Temporal client for its work, errors as one sentence and an exit code, and the
// parsers of command-line values.
import { InvalidArgumentError } from 'commander';
import type { Client } from '@temporalio/client';
import { connectClient } from '../client';
import { ConfigError, durationMs, loadConfig, type Config } from '../config';
import { printable } from '../report';

/** A mistake the user can fix: printed as one sentence, exit code 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The sentence to print for an error that ends the command, its outside text (ids, paths, servers' words) printable. */
export function describeError(err: unknown): string {
  return printable(errorSentence(err));
}

function errorSentence(err: unknown): string {
  if (err instanceof UsageError || err instanceof ConfigError) return err.message;
  const error = err as Error & { code?: string | number; cause?: unknown };
  const text = error?.message ?? String(err);
  if (
    /connect|deadline|transport|ECONNREFUSED|unavailable/i.test(text) &&
    /temporal|connect|deadline|transport/i.test(text)
  ) {
    return `The Temporal server does not answer (${text.split('\n')[0]}); start it with scripts/dev-server.sh start or npm start.`;
  }
  return text.split('\n')[0] ?? 'Unknown error.';
}

/** Runs a command's action; any error it throws becomes one sentence on stderr and exit code 1. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (err) {
      console.error(`sdw-etl: ${describeError(err)}`);
      process.exitCode = 1;
    }
  };
}

/** Runs a command's work with a Temporal client, closed afterwards. */
export async function withClient<T>(fn: (client: Client, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const client = await connectClient(config);
  try {
    return await fn(client, config);
  } finally {
    await client.connection.close();
  }
}

const colourCodes = { green: 32, red: 31, yellow: 33 } as const;

/** `text` in a colour on a terminal (standard output), plain in a pipe or a file and whenever NO_COLOR is set. */
export function colour(text: string, name: keyof typeof colourCodes, env = process.env): string {
  const wanted = process.stdout.isTTY === true && (env.NO_COLOR ?? '') === '';
  return wanted ? `\x1b[${colourCodes[name]}m${text}\x1b[39m` : text;
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export function positiveInt(max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > max) {
      throw new InvalidArgumentError(`expected a whole number from 1 to ${max}, got "${value}".`);
    }
    return Number(value);
  };
}

export function port(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) > 65535) {
    throw new InvalidArgumentError(`expected a port from 0 to 65535, got "${value}".`);
  }
  return Number(value);
}

export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new InvalidArgumentError(`expected a fraction from 0 to 1, got "${value}".`);
  }
  return n;
}

export function milliseconds(value: string): number {
  if (!/^\d+$/.test(value.trim()))
    throw new InvalidArgumentError(`expected milliseconds as a whole number, got "${value}".`);
  return Number(value);
}

export function oneOf<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    const found = choices.find((c) => c.toLowerCase() === value.toLowerCase());
    if (!found) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}".`);
    return found;
  };
}

export function wholeNumber(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number, got "${value}".`);
  return Number(value);
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
    throw new InvalidArgumentError(`expected a positive number, got "${value}".`);
  }
  return n;
}

/** A duration such as 30s, 15m or 1h, in milliseconds. */
export function duration(value: string): number {
  const ms = durationMs(value);
  if (ms === undefined)
    throw new InvalidArgumentError(`expected a duration such as 30s, 15m, 1h or 30d, got "${value}".`);
  return ms;
}
