// Loaded by path (DataConverter.failureConverterPath) into the worker, its workflow sandbox and the client when
// encryption is on: failure messages and stack traces go into an encoded payload, so the codec encrypts them too.
// The one failure left readable: a worker's "cannot decrypt this run", which holds no data and must reach a client
// whose key is not the worker's.
import {
  ApplicationFailure,
  DefaultFailureConverter,
  type FailureConverter,
  type PayloadConverter,
  type ProtoFailure,
} from '@temporalio/common';
import { failureTypes } from './failures';

const encoded = new DefaultFailureConverter({ encodeCommonAttributes: true });
const plain = new DefaultFailureConverter();

export const failureConverter: FailureConverter = {
  errorToFailure(err: unknown, payloadConverter: PayloadConverter): ProtoFailure {
    const readable = err instanceof ApplicationFailure && err.type === failureTypes.payloadUndecodable;
    return (readable ? plain : encoded).errorToFailure(err, payloadConverter);
  },
  failureToError(failure: ProtoFailure, payloadConverter: PayloadConverter) {
    return encoded.failureToError(failure, payloadConverter);
  },
};
