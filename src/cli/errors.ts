import { ConfigError } from '../config';

/** A mistake the user can fix: printed as one sentence, exit code 1. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The sentence to print for an error that ends the command. */
export function describeError(err: unknown): string {
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
