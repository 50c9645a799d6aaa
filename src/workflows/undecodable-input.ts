// A workflow interceptor: a workflow whose input this worker could not decrypt (its codec left the reason in its
// place) fails at once with that sentence, instead of failing its workflow tasks again and again.
import { ApplicationFailure, type WorkflowInterceptorsFactory } from '@temporalio/workflow';
import { failureTypes, undecodablePayloadField } from '../failures';

/** The sentence the codec left in place of an argument it could not decrypt, if any. */
function undecodable(arg: unknown): string | undefined {
  const sentence = (arg as Record<string, unknown> | null | undefined)?.[undecodablePayloadField];
  return typeof sentence === 'string' ? sentence : undefined;
}

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        const sentence = input.args.map(undecodable).find((s) => s !== undefined);
        if (sentence !== undefined) throw ApplicationFailure.nonRetryable(sentence, failureTypes.payloadUndecodable);
        return next(input);
      },
    },
  ],
});
