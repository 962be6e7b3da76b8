'use strict';
/*
 * Response streaming, as AWS's Node.js runtime interface client offers it, for node_worker.js:
 * the `awslambda` global (streamifyResponse, HttpResponseStream) and the response stream a
 * streaming handler writes to. What the handler writes goes to router as it is written
 * (node_worker.js sends each piece as a frame), as the clients send it to the Runtime API in
 * a chunked request; router streams it on or buffers it for its caller. Citations as in
 * node_loader.js: "3.x src/X.js:N" (v3.3.0), "4.x index.mjs:N" (aws-lambda-ric@4.0.2).
 */

const { Writable } = require('stream');

const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming'); // 3.x src/UserFunction.js:23-27
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream'; // 3.x src/ResponseStream.js:19
const METADATA_PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER_LEN = 8;

/** 3.x src/HttpResponseStream.js:15-31, 4.x index.mjs:823-846: the prelude's JSON and 8 NUL
 * bytes go out before the first write. */
class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(METADATA_PRELUDE_CONTENT_TYPE);
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadataPrelude);
      write(new Uint8Array(DELIMITER_LEN));
    };
    return underlyingStream;
  }
}

/** 3.x src/UserFunction.js:30-33 and 203-214, 4.x index.mjs:847-862: set before the handler's
 * module loads, unless AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA is 1 or true. */
function setupGlobal(env) {
  const off = env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (off === '1' || off === 'true') return;
  globalThis.awslambda = {
    ...globalThis.awslambda,
    streamifyResponse: (handler, options) => {
      handler[HANDLER_STREAMING] = STREAM_RESPONSE;
      if (typeof options?.highWaterMark === 'number') {
        handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark, 10);
      }
      return handler;
    },
    HttpResponseStream,
  };
}

/** Whether ``handler`` streams; 3.x src/UserFunction.js:238-254 refuses another mode. */
function isStreaming(handler, MalformedStreamingHandler) {
  const mode = handler[HANDLER_STREAMING];
  if (mode === undefined || mode === null || mode === false) return false;
  if (mode === STREAM_RESPONSE) return true;
  throw new MalformedStreamingHandler('Only response streaming is supported.');
}

/** The stream a handler writes to (3.x src/ResponseStream.js:123-262): a non-buffer chunk is
 * JSON.stringify'd, `_onBeforeFirstWrite` runs before the first write, the content type can
 * be set until then. `emit.open(contentType)` runs once, before the first piece;
 * `emit.piece(buffer, callback)` sends one and calls back when the channel took it (so a
 * handler that respects write()'s return value waits for router, as for the Runtime API's
 * socket). `done` settles when the stream finished or was destroyed; `contentType()` is the
 * final one. */
function responseStream(InvalidStreamingOperation, emit, highWaterMark) {
  let contentType = DEFAULT_CONTENT_TYPE;
  let written = false;
  let opened = false;
  const options = {
    write(chunk, encoding, callback) {
      if (!opened) {
        opened = true;
        emit.open(contentType);
      }
      emit.piece(chunk, callback);
    },
  };
  if (typeof highWaterMark === 'number' && highWaterMark > 0) options.highWaterMark = highWaterMark;
  const sink = new Writable(options);
  const origWrite = sink.write.bind(sink);
  sink.setContentType = (type) => {
    if (written) throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    contentType = type;
  };
  sink.write = function write(chunk, encoding, callback) {
    if (typeof chunk !== 'string' && !Buffer.isBuffer(chunk) && chunk?.constructor !== Uint8Array) {
      chunk = JSON.stringify(chunk);
    }
    if (!written && typeof this._onBeforeFirstWrite === 'function') {
      this._onBeforeFirstWrite((piece) => origWrite(piece));
    }
    written = true;
    return origWrite(chunk, encoding, callback);
  };
  const done = new Promise((resolve) => {
    sink.on('finish', resolve);
    sink.on('close', resolve);
    sink.on('error', () => resolve());
  });
  return { sink, done, contentType: () => contentType };
}

/** The highWaterMark a handler asked for in streamifyResponse's options, if any. */
function highWaterMarkOf(handler) {
  return handler[HANDLER_HIGHWATERMARK];
}

module.exports = { setupGlobal, isStreaming, responseStream, highWaterMarkOf };
