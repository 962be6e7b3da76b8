'use strict';
/*
 * Logging and error formatting of AWS's Node.js runtime interface client, for node_worker.js.
 * Required by the worker only (a sibling file: nothing of router's Python side).
 *
 * Two versions: aws-lambda-ric 3.x (nodejs18.x-22.x, "classic") and 4.x (nodejs24.x,
 * "modern"). Sources read: the 3.3.0 tag of github.com/aws/aws-lambda-nodejs-runtime-interface-client
 * (src/*.js) and the npm package aws-lambda-ric@4.0.2 (index.mjs, a bundle whose
 * `// dist/...` comments name the original files).
 *
 * Advanced logging controls: AWS_LAMBDA_LOG_FORMAT (JSON or text) and AWS_LAMBDA_LOG_LEVEL
 * (a console method below the level does nothing), read once at start as the clients do.
 */

const util = require('util');

// 3.x src/LogPatch.js:179-186, 4.x index.mjs:1321-1328 (dist/logging/constants.js)
const PRIORITY = { TRACE: 1, DEBUG: 2, INFO: 3, WARN: 4, ERROR: 5, FATAL: 6 };
const HANDLED = 'callback called with Error argument, but there was a problem while ' +
  'retrieving one or more of its message, name, and stack';
const DEL = /\x7F/g; // 3.x src/Errors.js:41-43, 4.x index.mjs:429-431: DEL is sent as %7F

function create(modern, env) {
  // 3.x src/LogPatch.js:234-237 and 187-188; 4.x index.mjs:350-356 (dist/utils/env.js):
  // JSON only when the variable says JSON (any case), an unknown level is TRACE
  const json = (env.AWS_LAMBDA_LOG_FORMAT || '').toUpperCase() === 'JSON';
  const minimum = PRIORITY[(env.AWS_LAMBDA_LOG_LEVEL || '').toUpperCase()] || PRIORITY.TRACE;
  // 3.x: a global, undefined until the first invocation (src/LogPatch.js:72-76);
  // 4.x: the invoke store's, "-" outside an invocation (index.mjs:55-57)
  let requestId = modern ? '-' : undefined;

  /** 3.x src/Errors.js:37-59; 4.x index.mjs:424-446 (dist/utils/error.js formatError). */
  function formatError(error) {
    try {
      if (modern ? error instanceof Error : util.types.isNativeError(error) || errorShaped(error)) {
        const stack = modern ? error.stack?.replace(DEL, '%7F').split('\n') || []
          : error.stack.replace(DEL, '%7F').split('\n');
        return { errorType: error.name?.replace(DEL, '%7F'),
          errorMessage: error.message?.replace(DEL, '%7F'), trace: stack };
      }
      return { errorType: typeof error, errorMessage: modern ? String(error) : error.toString(),
        trace: [] };
    } catch (_) {
      return modern ? { errorType: 'handled', errorMessage: HANDLED, trace: [] }
        : { errorType: 'handled', errorMessage: HANDLED };
    }
  }

  /** 3.x src/Errors.js:23-29 (`new Error(err)`); 4.x index.mjs:448-453 (`new Error(String(err))`).
   * Throws what converting `err` to a string throws (a Symbol on 3.x, a throwing toString). */
  function intoError(err) {
    if (err instanceof Error) return err;
    return modern ? new Error(String(err)) : new Error(err);
  }

  function line(level, message, params) {
    const time = new Date().toISOString();
    if (json) return jsonRecord(time, level, message, params);
    // 3.x src/LogPatch.js:88-97, 4.x index.mjs:1371-1373: time, id, level, util.format(...)
    return `${time}\t${requestId}\t${level}\t${util.format(message, ...params)}`;
  }

  /** 3.x src/LogPatch.js:31-69, 4.x index.mjs:1374-1399 (dist/logging/formatter.js). */
  function jsonRecord(time, level, message, params) {
    const record = { timestamp: time, level, requestId }; // no tenantId: router has no tenants
    if (params.length === 0) {
      record.message = message;
      try {
        return JSON.stringify(record, errorReplacer);
      } catch (_) {
        record.message = util.format(record.message);
        return JSON.stringify(record);
      }
    }
    record.message = util.format(message, ...params);
    // 3.x looks for an Error among all the arguments, 4.x among those after the first
    const error = (modern ? params : [message, ...params]).find((p) => p instanceof Error);
    if (error !== undefined) {
      record.errorType = error?.constructor?.name ?? 'UnknownError';
      record.errorMessage = error.message;
      record.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
    }
    return JSON.stringify(record);
  }

  function enabled(level) {
    return PRIORITY[level] >= minimum;
  }

  /** console.* write Lambda's lines; below AWS_LAMBDA_LOG_LEVEL they do nothing
   * (3.x src/LogPatch.js:177-229, 4.x index.mjs:1555-1570). console.log() logs "undefined":
   * the first argument is always formatted, even when missing. */
  function patch() {
    for (const level of Object.keys(PRIORITY)) {
      console[level.toLowerCase()] = enabled(level)
        ? (message, ...params) => process.stdout.write(`${line(level, message, params)}\n`)
        : () => {};
    }
    console.log = console.info;
  }

  /** The error line as the client logs it (text: `time\tid\tERROR\tLabel \t{json}`, JSON: a
   * record whose message is the error), '' when ERROR is filtered out. 3.x
   * src/LogPatch.js:238-243, 4.x index.mjs:1571-1576. May throw (see intoError). */
  function errorLog(label, err) {
    const error = intoError(err);
    if (!enabled('ERROR')) return '';
    if (json) return line('ERROR', error, []);
    return line('ERROR', label, [toFormatted(error)]);
  }

  /** 3.x src/Errors.js:67-75, 4.x index.mjs:454-460. */
  function toFormatted(error) {
    try {
      return '\t' + JSON.stringify(error, (_k, v) => withEnumerable(v));
    } catch (_) {
      return '\t' + JSON.stringify(formatError(error));
    }
  }

  return {
    formatError, errorLog, line, patch,
    setRequestId: (id) => { requestId = id; },
  };
}

/** 3.x src/Errors.js:11-21: an object is an error when name, message and stack are non-empty strings. */
function errorShaped(v) {
  return Boolean(v && v.name && v.message && v.stack) && typeof v.name === 'string' &&
    typeof v.message === 'string' && typeof v.stack === 'string';
}

/** 3.x src/Errors.js:83-100, 4.x index.mjs:461-473: name, message, code, then own properties. */
function withEnumerable(value) {
  if (!(value instanceof Error)) return value;
  const out = Object.assign(
    { errorType: value.name, errorMessage: value.message, code: value.code }, value);
  if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
  return out;
}

/** 3.x src/LogPatch.js:13-29, 4.x index.mjs:1400-1410: an Error as a message of a JSON record. */
function errorReplacer(_key, value) {
  if (!(value instanceof Error)) return value;
  return Object.assign({
    errorType: value?.constructor?.name ?? 'UnknownError',
    errorMessage: value.message,
    stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
  }, value);
}

module.exports = { create };
