'use strict';
// The failure converter of every Client, Worker and workflow bundle, by path (DataConverter.failureConverterPath).
// CommonJS on purpose: the SDK `require()`s this path in Node (where a .ts file cannot be required without a
// CommonJS TypeScript hook) and webpack bundles it into the workflow sandbox; it must stay free of Node built-ins.
// encodeCommonAttributes moves failure messages and stack traces into a payload, so the codec encrypts them.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS is the point of this file.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
