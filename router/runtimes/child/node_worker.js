'use strict';
/*
 * The worker process for Node.js handlers: one Lambda execution environment.
 *
 * Started by router as `node node_worker.js FD HANDLER TASK_ROOT RUNTIME FUNCTION_ARN`. It
 * requires nothing from router but its siblings (node_console.js, node_loader.js, node_reload.js,
 * node_stream.js). FD is one end of a
 * socketpair: router's frames travel there, never on stdout/stderr, which stay the handler's
 * own (router captures them as log lines).
 *
 * A frame is a 4-byte big-endian payload length, a type byte, then the payload. Router sends
 * `I` (invoke: the JSON array [requestId, deadlineMs, clientContext, event, traceId?, identity?]); the
 * worker answers `R` (initialised), `N` (init failed: [error, log]; it then exits), `O` (the
 * result as JSON), `E` (a streaming handler's response ended: its content type) or `F` (a
 * function error: [error, log, fatal]; after a fatal one it exits). The `O`, `E` and non-fatal
 * `F` replies come right after an `M` frame in the same write: the process's peak resident
 * memory in kB (VmHWM), for Max Memory Used. A streaming handler's response travels before its
 * `E` (or `F`) as it is written (node_stream.js): `P` (the stream opened: its content type) at
 * the first write, then one `C` frame per piece written, its bytes.
 *
 * The semantics are those of AWS's Node.js runtime interface client: aws-lambda-ric 3.x for
 * nodejs18.x-22.x ("classic": callbacks, context.succeed/fail/done, the client catches
 * uncaught exceptions and rejections), 4.x for nodejs24.x ("modern": the handler's value is
 * awaited; the client installs no process handlers, so an exception in a timer or an
 * unhandled rejection is Node's own crash, exit status 1). The runtime string is argv[5].
 * Citations: "3.x src/X.js:N" is the v3.3.0 tag of aws/aws-lambda-nodejs-runtime-interface-client,
 * "4.x index.mjs:N" the npm package aws-lambda-ric@4.0.2.
 *
 * "The event loop is empty" is detected as Lambda does it, with Node's own 'beforeExit'
 * event: while an invocation runs, the channel to router is unref()'d, so only the handler's
 * own timers, sockets, file and child-process work keep the loop alive; when they are gone
 * Node emits 'beforeExit', the waiting response is sent and the channel is ref()'d again to
 * wait for the next frame.
 */

const crypto = require('crypto');
const fs = require('fs');
const net = require('net');

const [FD, HANDLER, TASK_ROOT, RUNTIME, FUNCTION_ARN] = process.argv.slice(2);
const MODERN = parseInt(RUNTIME.replace(/^nodejs/, ''), 10) >= 24; // aws-lambda-ric 4.x
const INVOKE = 0x49, READY = 0x52, INIT_FAILED = 0x4e, RESULT = 0x4f, FAILED = 0x46;
const MEMORY = 0x4d, LOADED = 0x4c;
const OPENED = 0x50, PIECE = 0x43, ENDED = 0x45; // a streamed response: P type, C bytes..., E type
const ENV = process.env;
const log = require('./node_console.js').create(MODERN, ENV);

const loaded = require('./node_reload.js');
const {
  loadHandler, esmNodePath, CallbackHandlerDeprecated, JSONStringifyError, UnhandledPromiseRejection,
  CALLBACK_DEPRECATED, MalformedStreamingHandler, InvalidStreamingOperation,
} = require('./node_loader.js');
const stream = require('./node_stream.js');

// ------------------------------------------------------------------------------ channel

const channel = new net.Socket({ fd: Number(FD), readable: true, writable: true });
let pending = null;

function send(type, text, then) {
  const length = text === undefined ? 0 : Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(5 + length);
  frame.writeUInt32BE(length, 0);
  frame[4] = type;
  if (length) frame.write(text, 5);
  channel.write(frame, then);
}

/** One piece of a streamed response (frame C); `then` runs once the channel took it, at once
 * unless its buffer is full (then at 'drain'): the handler's writes wait for router. */
function sendPiece(bytes, then) {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt32BE(bytes.length, 0);
  head[4] = PIECE;
  channel.write(head);
  if (channel.write(bytes)) then();
  else channel.once('drain', () => then());
}

// VmHWM from /proc/self/status, read synchronously (an fd, not a handle: it never keeps the
// event loop alive); null where there is no /proc (router then reads the peak itself)
let statusFd = null;
try {
  statusFd = fs.openSync('/proc/self/status', 'r');
} catch (_) {
  statusFd = null;
}
const statusBuf = Buffer.alloc(4096);
let faultsSeen = -1; // page faults when /proc was last read
let peakSeen = null;

/** Reading /proc after every invocation cost a worker 51-53 us of CPU per invocation instead of
 * 41-42 (bench/RESULTS.md): it is read again only after page faults, without which the resident
 * size cannot have grown, nor its peak (as the Python worker does). */
function peakMemory() {
  if (statusFd === null) return null;
  const usage = process.resourceUsage();
  const faults = usage.minorPageFault + usage.majorPageFault;
  if (faults === faultsSeen) return peakSeen;
  faultsSeen = faults;
  try {
    const text = statusBuf.latin1Slice(0, fs.readSync(statusFd, statusBuf, 0, 4096, 0));
    const start = text.indexOf('VmHWM:');
    const end = text.indexOf('kB', start);
    peakSeen = start < 0 || end < 0 ? null : text.slice(start + 6, end).trim();
  } catch (_) {
    peakSeen = null;
  }
  return peakSeen;
}

/** A reply frame, after the M frame of the peak memory, in one write. */
function reply(type, text) {
  const peak = peakMemory();
  if (peak === null) {
    send(type, text);
    return;
  }
  const length = Buffer.byteLength(text);
  const frame = Buffer.allocUnsafe(10 + peak.length + length);
  frame.writeUInt32BE(peak.length, 0);
  frame[4] = MEMORY;
  frame.latin1Write(peak, 5);
  const at = 5 + peak.length;
  frame.writeUInt32BE(length, at);
  frame[at + 4] = type;
  frame.write(text, at + 5);
  channel.write(frame);
}

channel.on('data', (chunk) => {
  pending = pending === null ? chunk : Buffer.concat([pending, chunk]);
  while (pending !== null && pending.length >= 5) {
    const length = pending.readUInt32BE(0);
    if (pending.length < 5 + length) break;
    const type = pending[4];
    const payload = pending.subarray(5, 5 + length);
    pending = pending.length === 5 + length ? null : pending.subarray(5 + length);
    if (type === INVOKE) invoke(payload);
  }
});
channel.on('end', () => process.exit(0)); // router went away
channel.on('error', () => process.exit(0));
// ------------------------------------------------------------------------------ answering

// called as a method named handler, as the clients call this.handler(...): stacks read "[as handler]"
const user = { handler: null, streaming: false, highWaterMark: undefined };
let current = null; // the invocation in progress

function finish(inv) {
  if (current === inv) {
    current = null;
    channel.ref(); // idle: the channel keeps the process alive until the next frame
  }
}

/** Hot reload: the files of the user's code loaded since the last report (frame L). */
function reportLoaded() {
  const files = loaded.fresh();
  if (files.length) send(LOADED, JSON.stringify(files));
}

function answer(inv, body) {
  if (inv.replied) return;
  inv.replied = true;
  reportLoaded();
  reply(RESULT, body);
  finish(inv);
}

function answerStream(inv, contentType) {
  if (inv.replied) return;
  inv.replied = true;
  reportLoaded();
  reply(ENDED, contentType);
  finish(inv);
}

function answerError(inv, error, text) {
  if (inv.replied) return;
  inv.replied = true;
  reportLoaded();
  reply(FAILED, JSON.stringify([error, text, false]));
  finish(inv);
}

/** The response body: 3.x src/RAPIDClient.js:207-213 (an Error), 4.x index.mjs:377-383. */
function serialize(result) {
  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result);
  } catch (_) {
    throw MODERN ? new JSONStringifyError('Unable to stringify response body')
      : new Error('Unable to stringify response body');
  }
  return body === undefined ? 'null' : body; // JSON.stringify(a function) is undefined
}

/** `Root=1-<epoch seconds, 8 hex>-<24 hex>;Parent=<16 hex>;Sampled=0`: the X-Ray header
 * Lambda sends with every invocation ("Tracing header", AWS X-Ray developer guide). */
const randomPool = Buffer.alloc(4000); // refilled every 200 invocations (randomBytes costs 2 us a call)
let randomAt = randomPool.length;

function newTraceId() {
  if (randomAt + 20 > randomPool.length) {
    crypto.randomFillSync(randomPool);
    randomAt = 0;
  }
  const random = randomPool.toString('hex', randomAt, randomAt += 20);
  const seconds = Math.floor(Date.now() / 1000).toString(16).padStart(8, '0');
  return `Root=1-${seconds}-${random.slice(0, 24)};Parent=${random.slice(24)};Sampled=0`;
}

/** The context's data: 3.x src/InvokeContext.js:76-108 (environment, then headers);
 * 4.x index.mjs:264-295 (headers, xRayTraceId among them, then environment). */
function contextData(id, deadline, clientContext, traceId, identity) {
  const env = {
    functionVersion: ENV.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: ENV.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: ENV.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: ENV.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: ENV.AWS_LAMBDA_LOG_STREAM_NAME,
  };
  const headers = {
    clientContext: clientContext === null ? undefined : clientContext,
    // the Lambda-Runtime-Cognito-Identity header, parsed as it is (3.x src/InvokeContext.js:97-100)
    identity: identity == null ? undefined : identity,
    invokedFunctionArn: FUNCTION_ARN,
    awsRequestId: id,
    tenantId: undefined, // router has no tenant isolation mode
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  if (!MODERN) return Object.assign(env, headers);
  return Object.assign(headers, { xRayTraceId: traceId }, env);
}

// ------------------------------------------------------------------------------ invoking

/** nodejs18.x-22.x: 3.x src/Runtime.js:59-88 and src/CallbackContext.js:21-146. */
function runClassic(inv, event, data) {
  let waits = true;
  let completed = false;
  const complete = (result) => {
    if (completed) {
      console.error('Invocation has already been reported as done. Cannot call complete ' +
        'more than once per invocation.');
      return;
    }
    completed = true;
    answer(inv, serialize(result));
  };
  // the error is logged before it is sent: a value that cannot be made a string throws here
  const postError = (err) => answerError(inv, log.formatError(err), log.errorLog('Invoke Error', err));
  const done = (err, result) => {
    inv.onDrain = null;
    if (err !== undefined && err !== null) postError(err);
    else complete(result);
  };
  const callback = (err, result) => {
    if (err !== undefined && err !== null || !waits) {
      done(err, result);
    } else {
      inv.onDrain = () => setImmediate(() => complete(result)); // when the event loop is empty
    }
  };
  // only the first call counts, and a call counts once it returned (CallbackContext.js:110-126)
  let finished = false;
  const first = (fn) => (...args) => {
    if (!finished) {
      fn(...args);
      finished = true;
    }
  };
  const context = Object.assign({
    get callbackWaitsForEmptyEventLoop() { return waits; },
    set callbackWaitsForEmptyEventLoop(value) { waits = value; },
    succeed: first((result) => done(null, result)),
    fail: first((err) => (err === undefined || err === null ? done('handled') : done(err, null))),
    done: first(done),
  }, data);
  // no callback and no settled promise when the loop empties: null, async or not (Runtime.js:181-188)
  inv.onDrain = () => {
    completed = true;
    answer(inv, 'null');
  };
  try {
    const result = user.handler(event, context, first(callback));
    if (result && typeof result.then === 'function') {
      result.then(context.succeed, context.fail).catch(context.fail);
    }
  } catch (err) {
    try {
      first(callback)(err);
    } catch (top) {
      topLevelError(inv, top);
    }
  }
}

/** 3.x src/Runtime.js:48-51 and 163-174: an error out of the invoke loop itself is logged as
 * "Unexpected Top Level Error", sent without an "Invoke Error" line, and the process exits 129. */
function topLevelError(inv, err) {
  const text = log.line('INFO', `Unexpected Top Level Error: ${err.toString()}`, []);
  inv.replied = true;
  current = null;
  send(FAILED, JSON.stringify([log.formatError(err), text, true]), () => process.exit(129));
}

/** nodejs24.x: 4.x index.mjs:1084-1101 and 1040-1065: the handler's value is awaited; the
 * answer is sent on the next turn of the loop. Never settled and the loop empty: nothing
 * keeps the process alive, it exits (status 0) and Lambda reports Runtime.ExitError. An error
 * that cannot be logged rejects this function, an unhandled rejection: Node exits 1. */
async function runModern(inv, event, data) {
  try {
    const result = await user.handler(event, data);
    await new Promise((resolve) => setImmediate(resolve));
    answer(inv, serialize(result));
  } catch (err) {
    await new Promise((resolve) => setImmediate(resolve));
    const text = log.errorLog('Invoke Error', err);
    answerError(inv, log.formatError(err), text);
  }
}

/** A handler wrapped by awslambda.streamifyResponse: 3.x src/Runtime.js:93-150 and
 * src/StreamingContext.js:32-82, 4.x index.mjs:1113-1141. A handler that returns no promise
 * fails; a return value is ignored with a warning; once the promise settled the answer waits
 * for the stream to end (a stream never ended runs into the timeout, as on Lambda); a stream
 * destroyed before it finished fails. Errors are logged as "Invoke Error" and answered. What the
 * handler writes is sent as it is written (frames P, C), until the invocation has been answered. */
async function runStreaming(inv, event, data) {
  const emit = {
    open: (contentType) => { if (!inv.replied) send(OPENED, contentType); },
    piece: (bytes, then) => (inv.replied ? then() : sendPiece(bytes, then)),
  };
  const out = stream.responseStream(InvalidStreamingOperation, emit, user.highWaterMark);
  let waits = true;
  const context = MODERN ? data : Object.assign({
    get callbackWaitsForEmptyEventLoop() { return waits; },
    set callbackWaitsForEmptyEventLoop(value) { waits = value; },
  }, data);
  const fail = (message) => (MODERN ? new Error(message) : message); // 3.x fails with the string
  try {
    const result = user.handler(event, out.sink, context);
    if (!result || typeof result.then !== 'function') throw fail('Streaming does not support non-async handlers.');
    if (await result !== undefined) console.warn('Streaming handlers ignore return values.');
    await out.done;
    if (!out.sink.writableFinished) throw fail('Response stream is not finished.');
    answerStream(inv, out.contentType());
  } catch (err) {
    answerError(inv, log.formatError(err), log.errorLog('Invoke Error', err));
  }
}

function invoke(payload) {
  const [id, deadline, clientContext, event, trace, identity] = JSON.parse(payload.toString('utf8'));
  const traceId = trace || newTraceId();
  log.setRequestId(id);
  // 3.x src/InvokeContext.js:113-119, 4.x index.mjs:360-368: the trace header into the env
  ENV._X_AMZN_TRACE_ID = traceId;
  const inv = { replied: false, onDrain: null };
  current = inv;
  channel.unref(); // from now on only the handler's own work keeps the loop alive
  const data = contextData(id, deadline, clientContext, traceId, identity);
  if (user.streaming) runStreaming(inv, event, data);
  else if (MODERN) runModern(inv, event, data);
  else runClassic(inv, event, data);
}

process.on('beforeExit', () => {
  const inv = current;
  if (inv !== null && inv.onDrain !== null) {
    const drained = inv.onDrain;
    inv.onDrain = null;
    drained();
  }
});

// ------------------------------------------------------------------------------ failing

let initialised = false;

/** 3.x src/index.mjs:19-37 and src/Runtime.js:163-174: the error is logged, sent, and the
 * process exits (129 for an exception, 128 for a rejection). */
function die(err, label, code) {
  const inv = current;
  const text = log.errorLog(label, err);
  const exit = () => process.exit(code);
  setTimeout(exit, 1000);
  if (!initialised) {
    send(INIT_FAILED, JSON.stringify([log.formatError(err), text]), exit);
  } else if (inv !== null && !inv.replied) {
    inv.replied = true;
    current = null;
    send(FAILED, JSON.stringify([log.formatError(err), text, true]), exit);
  } else {
    if (text) process.stderr.write(`${text}\n`);
    exit();
  }
}

if (!MODERN) {
  process.on('uncaughtException', (err) => die(err, 'Uncaught Exception', 129));
  process.on('unhandledRejection', (reason, promise) => {
    die(new UnhandledPromiseRejection(reason, promise), 'Unhandled Promise Rejection', 128);
  });
}

async function main() {
  log.patch();
  process.chdir(TASK_ROOT);
  loaded.install(reportLoaded, loaded.isEsmHandler(TASK_ROOT, HANDLER, MODERN));
  esmNodePath();
  stream.setupGlobal(ENV);
  const fn = await loadHandler(TASK_ROOT, HANDLER);
  user.streaming = stream.isStreaming(fn, MalformedStreamingHandler);
  user.highWaterMark = user.streaming ? stream.highWaterMarkOf(fn) : undefined;
  // 4.x index.mjs:605-617: three declared parameters is a callback handler, refused (not a streaming one)
  if (MODERN && fn.length >= 3 && !user.streaming) throw new CallbackHandlerDeprecated(CALLBACK_DEPRECATED);
  user.handler = fn;
  initialised = true;
  reportLoaded();
  send(READY);
}

main().catch((err) => {
  if (!MODERN) {
    die(err, 'Uncaught Exception', 129); // 3.x: the rejected top-level await is uncaught
    return;
  }
  // 4.x index.mjs:1218-1222: logged as "Init Error", posted, rethrown: Node exits 1
  const text = log.errorLog('Init Error', err);
  setTimeout(() => process.exit(1), 1000);
  send(INIT_FAILED, JSON.stringify([log.formatError(err), text]), () => process.exit(1));
});
