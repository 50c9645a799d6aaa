// The bank API simulator's fault knobs: how often it answers 500 or 429, never answers, resets the connection or sends
// broken JSON, and how slowly it answers.

export interface BankApiFaults {
  /** Fraction of requests answered 500. */
  errorRate: number;
  /** Fraction answered 429 with Retry-After. */
  rateLimitRate: number;
  /** Fraction never answered. */
  hangRate: number;
  /** Fraction whose connection is reset. */
  resetRate: number;
  /** Fraction answered 200 with a broken JSON body. */
  malformedRate: number;
  latencyMs: number;
  jitterMs: number;
  /** Seconds sent in Retry-After with a 429. */
  retryAfterSeconds: number;
}

export const noFaults = (): BankApiFaults => ({
  errorRate: 0,
  rateLimitRate: 0,
  hangRate: 0,
  resetRate: 0,
  malformedRate: 0,
  latencyMs: 0,
  jitterMs: 0,
  retryAfterSeconds: 1,
});
