// The failure types activities raise, matched by name in the workflows' retry policies and failure readers.

export const failureTypes = {
  inputInvalid: 'InputInvalid',
  customerNotFound: 'CustomerNotFound',
  apiRejected: 'ApiRejected',
  apiUnavailable: 'ApiUnavailable',
  apiRateLimited: 'ApiRateLimited',
  llmRejected: 'LlmRejected',
  llmUnavailable: 'LlmUnavailable',
  llmRateLimited: 'LlmRateLimited',
  llmBadReply: 'LlmBadReply',
  exportFailed: 'ExportFailed',
} as const;
