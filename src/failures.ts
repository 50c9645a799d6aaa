// The failure types activities raise, matched by name in the workflows' retry policies and failure readers.

export const failureTypes = {
  inputInvalid: 'InputInvalid',
  customerNotFound: 'CustomerNotFound',
  /** A 4xx other than 404, 408 and 429: the API refused this request for good. */
  apiRejected: 'ApiRejected',
  /** The API answered, but not with an SDW2023 user: this customer's data is the problem. */
  apiBadData: 'ApiBadData',
  /** A 5xx: an outage, or an error that never goes away for this customer (the SDW2023 API answers 500 for both). */
  apiServerError: 'ApiServerError',
  /** No answer: connection refused or reset, a timeout, a 408, an answer cut short. */
  apiUnavailable: 'ApiUnavailable',
  apiRateLimited: 'ApiRateLimited',
  llmRejected: 'LlmRejected',
  llmUnavailable: 'LlmUnavailable',
  llmRateLimited: 'LlmRateLimited',
  llmBadReply: 'LlmBadReply',
  exportFailed: 'ExportFailed',
  /** The worker cannot decrypt a workflow's input: it lacks the key it was encrypted with. */
  payloadUndecodable: 'PayloadUndecodable',
} as const;

/** Failures of a bank step that may be the API's outage rather than the customer's: no answer, a 5xx, a 429. */
export const outageFailureTypes: readonly string[] = [
  failureTypes.apiUnavailable,
  failureTypes.apiServerError,
  failureTypes.apiRateLimited,
];

/** The field of the value a worker's codec puts in place of a payload it cannot decrypt: the sentence saying why. */
export const undecodablePayloadField = 'sdwUndecodablePayload';
