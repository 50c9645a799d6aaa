// What the HTTP services sdw-etl calls (the bank API, the LLM) say about when to come back.

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
