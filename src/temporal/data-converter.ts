import { fileURLToPath } from 'node:url';
import type { DataConverter, PayloadCodec } from '@temporalio/common';

/**
 * Path of the module whose `failureConverter` (a DefaultFailureConverter with `encodeCommonAttributes: true`)
 * every Client, Worker and workflow bundle loads, so failure messages and stack traces go through the codec too.
 * The SDK takes failure converters by path only: it `require()`s it in Node and bundles it into the sandbox.
 */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/**
 * The data converter every Client and Worker of this service must share: payloads through `codec` (the
 * `EncryptionCodec` of codec.ts), failure attributes encoded so the codec encrypts them as well.
 * Pre-bundled workflows need {@link FAILURE_CONVERTER_PATH} in `bundleWorkflowCode` as well (see `bundleWorkflows`).
 */
export function createDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH };
}
