// Loaded by path (DataConverter.failureConverterPath) into the worker, its workflow sandbox and the client when
// encryption is on: failure messages and stack traces go into an encoded payload, so the codec encrypts them too.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
