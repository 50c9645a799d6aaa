// Prices in US dollars per million tokens, as OpenAI published them on 2024-07-18 for gpt-4o-mini, sync and through
// the Batch API (half the sync price, published the same day). Check them before quoting a cost: they change.
export const pricesTakenOn = '2024-07-18';

/** Batch API tokens cost this share of the sync price (OpenAI, 2024-07-18: "50% off"). */
export const batchPriceShare = 0.5;

const pricePerMillionTokens: Record<string, { input: number; output: number }> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
};

/**
 * Estimated cost of a number of tokens on a model, at the sync price or, with `pricing` 'batch', the Batch API's;
 * 0 for a model with no known price (local models).
 */
export function estimateCostUsd(
  model: string | null,
  promptTokens: number,
  completionTokens: number,
  pricing?: 'batch',
): number {
  // Dated model names ("gpt-4o-mini-2024-07-18") cost what their family costs.
  const price = Object.entries(pricePerMillionTokens).find(([name]) => model !== null && model.startsWith(name))?.[1];
  if (!price) return 0;
  const share = pricing === 'batch' ? batchPriceShare : 1;
  return (share * (promptTokens * price.input + completionTokens * price.output)) / 1_000_000;
}

/** What tokens spent through the Batch API saved against the same tokens sent one by one. */
export function batchSavingUsd(
  model: string | null,
  tokens: { promptTokens: number; completionTokens: number; pricing?: 'batch' },
): number {
  if (tokens.pricing !== 'batch') return 0;
  const sync = estimateCostUsd(model, tokens.promptTokens, tokens.completionTokens);
  return sync - estimateCostUsd(model, tokens.promptTokens, tokens.completionTokens, 'batch');
}
