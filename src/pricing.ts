// Prices in US dollars per million tokens, as OpenAI published them on 2024-07-18 for gpt-4o-mini.
// Check them before quoting a cost: they change.
export const pricesTakenOn = '2024-07-18';

const pricePerMillionTokens: Record<string, { input: number; output: number }> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
};

/** Estimated cost of a number of tokens on a model; 0 for a model with no known price (local models). */
export function estimateCostUsd(model: string | null, promptTokens: number, completionTokens: number): number {
  // Dated model names ("gpt-4o-mini-2024-07-18") cost what their family costs.
  const price = Object.entries(pricePerMillionTokens).find(([name]) => model !== null && model.startsWith(name))?.[1];
  if (!price) return 0;
  return (promptTokens * price.input + completionTokens * price.output) / 1_000_000;
}
