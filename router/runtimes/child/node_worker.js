'use strict';
/*
 * The worker process for Node.js handlers: one Lambda execution environment.
 *
 * Started by router as `node node_worker.js FD HANDLER TASK_ROOT RUNTIME FUNCTION_ARN`. It
 * requires nothing from router. FD is one end of a socketpair: router's frames travel there,
 * never on stdout/stderr, which stay the handler's own (router captures them as log lines).
 *
 * A frame is a 4-byte big-endian payload length, a type byte, then the payload. Router sends
 * `I` (invoke: the JSON array [requestId, deadlineMs, clientContext, event]); the worker
 * answers `R` (initialised), `N` (init failed: [error, log]; it then exits), `O` (the result
 * as JSON) or `F` (a function error: [error, log, fatal]; after a fatal one it exits). The
 * `O` and non-fatal `F` replies come right after an `M` frame in the same write: the
 * process's peak resident memory in kB (VmHWM), for Max Memory Used.
 *
 * The semantics are those of AWS's Node.js runtime interface client (aws-lambda-ric 3.x for
 * nodejs18.x-22.x, 4.x for nodejs24.x), see docs/runtimes.md. "The event loop is empty" is
 * detected as Lambda does it, with Node's own 'beforeExit' event: while an invocation runs,
 * the channel to router is unref()'d, so only the handler's own timers, sockets, file and
 * child-process work keep the loop alive; when they are gone Node emits 'beforeExit', the
 * waiting response is sent and the channel is ref()'d again to wait for the next frame.
 */

const fs = require('fs');
const net = require('net');
const path = require('path');
const util = require('util');
const { pathToFileURL } = require('url');

const [FD, HANDLER, TASK_ROOT, RUNTIME, FUNCTION_ARN] = process.argv.slice(2);
const MODERN = parseInt(RUNTIME.replace(/^nodejs/, ''), 10) >= 24; // callback handlers removed
const INVOKE = 0x49, READY = 0x52, INIT_FAILED = 0x4e, RESULT = 0x4f, FAILED = 0x46;
const MEMORY = 0x4d;
const ENV = process.env;

// ------------------------------------------------------------------------------ errors

function named(name) {
  const cls = class extends Error {};
  cls.prototype.name = `Runtime.${name}`;
  return cls;
}
const ImportModuleError = named('ImportModuleError');
const HandlerNotFound = named('HandlerNotFound');
const MalformedHandlerName = named('MalformedHandlerName');
const UserCodeSyntaxError = named('UserCodeSyntaxError');
const CallbackHandlerDeprecated = named('CallbackHandlerDeprecated');
const JSONStringifyError = named('JSONStringifyError');
class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most ' +
        'commonly caused by a Promise that was never settled. For more information, see ' +
        'https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}
NodeJsExit.prototype.name = 'Runtime.NodeJsExit';
class UnhandledPromiseRejection extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

const CALLBACK_DEPRECATED =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting ' +
  'with Node.js 24. You need to modify this function to use a supported handler signature ' +
  'to use Node.js 24 or later. For more information see ' +
  'https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

function isErrorLike(v) {
  return v && typeof v.name === 'string' && typeof v.message === 'string' &&
    typeof v.stack === 'string';
}

/** The error payload Lambda returns: an Error keeps name/message/stack, anything else is typeof. */
function formatError(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return { errorType: error.name, errorMessage: error.message, trace: error.stack.split('\n') };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while ' +
        'retrieving one or more of its message, name, and stack',
    };
  }
}

function withEnumerable(value) {
  if (!(value instanceof Error)) return value;
  const out = Object.assign(
    { errorType: value.name, errorMessage: value.message, code: value.code }, value);
  if (typeof value.stack === 'string') out.stack = value.stack.split('\n');
  return out;
}

/** The log line Lambda writes for an error: `time\tid\tERROR\tLabel \t{json}`. */
function errorLine(label, err) {
  const error = err instanceof Error ? err : new Error(err);
  let text;
  try {
    text = '\t' + JSON.stringify(error, (_k, v) => withEnumerable(v));
  } catch (_) {
    text = '\t' + JSON.stringify(formatError(error));
  }
  return `${new Date().toISOString()}\t${requestId}\tERROR\t${util.format(label, text)}`;
}

// ------------------------------------------------------------------------------ console

let requestId; // undefined until the first invocation, as in Lambda's logs

function patchConsole() {
  const write = (level) => (...args) => {
    process.stdout.write(
      `${new Date().toISOString()}\t${requestId}\t${level}\t${util.format(...args)}\n`);
  };
  console.trace = write('TRACE');
  console.debug = write('DEBUG');
  console.info = write('INFO');
  console.log = console.info;
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.fatal = write('FATAL');
}

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

// VmHWM from /proc/self/status, read synchronously (an fd, not a handle: it never keeps the
// event loop alive); null where there is no /proc (router then reads the peak itself)
let statusFd = null;
try {
  statusFd = fs.openSync('/proc/self/status', 'r');
} catch (_) {
  statusFd = null;
}
const statusBuf = Buffer.alloc(4096);

function peakMemory() {
  if (statusFd === null) return null;
  try {
    const text = statusBuf.latin1Slice(0, fs.readSync(statusFd, statusBuf, 0, 4096, 0));
    const start = text.indexOf('VmHWM:');
    const end = text.indexOf('kB', start);
    return start < 0 || end < 0 ? null : text.slice(start + 6, end).trim();
  } catch (_) {
    return null;
  }
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

// ------------------------------------------------------------------------------ loading

function isFile(p) {
  try {
    return fs.statSync(p).isFile();
  } catch (_) {
    return false;
  }
}

function typeModule(folder) {
  // the nearest package.json decides whether a .js file is an ES module
  if (folder.endsWith(`${path.sep}node_modules`)) return false;
  const pj = path.join(folder, 'package.json');
  if (isFile(pj)) {
    try {
      return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
    } catch (_) {
      return false;
    }
  }
  const parent = path.dirname(folder);
  return parent === folder ? false : typeModule(parent);
}

async function loadModule(appRoot, moduleRoot, name) {
  const base = path.resolve(appRoot, moduleRoot, name);
  const esImport = (file) => import(pathToFileURL(file).href);
  try {
    if (isFile(base)) return require(base);
    const esm = typeModule(path.dirname(base));
    if (isFile(`${base}.js`)) return esm ? await esImport(`${base}.js`) : require(`${base}.js`);
    if (isFile(`${base}.mjs`)) return await esImport(`${base}.mjs`);
    if (isFile(`${base}.cjs`)) return require(`${base}.cjs`);
    return require(require.resolve(name, { paths: [appRoot, moduleRoot] }));
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
}

async function loadHandler(appRoot, full) {
  if (full.includes('..')) {
    throw new MalformedHandlerName(`'${full}' is not a valid handler name. Use absolute ` +
      'paths when specifying root directories in handler names.');
  }
  const base = path.basename(full);
  const moduleRoot = full.substring(0, full.indexOf(base));
  const match = base.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const app = await loadModule(appRoot, moduleRoot, match[1]);
  const fn = match[2].split('.').reduce((obj, key) => obj && obj[key], app);
  if (!fn) throw new HandlerNotFound(`${full} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${full} is not a function`);
  return fn;
}

// ------------------------------------------------------------------------------ invoking

let handler = null;
let handlerIsAsync = false;
let current = null; // the invocation in progress

function finish(inv) {
  if (current === inv) {
    current = null;
    channel.ref(); // idle: the channel keeps the process alive until the next frame
  }
}

function respond(inv, result) {
  if (inv.replied) return;
  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result);
  } catch (_) {
    respondError(inv, MODERN ? new JSONStringifyError('Unable to stringify response body')
      : new Error('Unable to stringify response body'));
    return;
  }
  inv.replied = true;
  reply(RESULT, body === undefined ? 'null' : body);
  finish(inv);
}

function respondError(inv, err) {
  if (inv.replied) return;
  inv.replied = true;
  reply(FAILED, JSON.stringify([formatError(err), errorLine('Invoke Error', err), false]));
  finish(inv);
}

function baseContext(id, deadline, clientContext) {
  return {
    functionVersion: ENV.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: ENV.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: ENV.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: ENV.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: ENV.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: clientContext === null ? undefined : clientContext,
    identity: undefined,
    invokedFunctionArn: FUNCTION_ARN,
    awsRequestId: id,
    getRemainingTimeInMillis: () => deadline - Date.now(),
  };
}

/** nodejs18.x-22.x: callback, context.succeed/fail/done, callbackWaitsForEmptyEventLoop. */
function runClassic(inv, event, id, deadline, clientContext) {
  let waits = true;
  const once = (fn) => (...args) => {
    if (!inv.finished) {
      inv.finished = true;
      fn(...args);
    }
  };
  const done = (err, result) => {
    inv.onDrain = null;
    if (err !== undefined && err !== null) respondError(inv, err);
    else respond(inv, result);
  };
  const callback = once((err, result) => {
    inv.onDrain = null;
    if (err !== undefined && err !== null) respondError(inv, err);
    else if (!waits) respond(inv, result);
    else inv.onDrain = () => respond(inv, result); // sent when the event loop is empty
  });
  const context = Object.assign({
    get callbackWaitsForEmptyEventLoop() { return waits; },
    set callbackWaitsForEmptyEventLoop(value) { waits = value; },
    succeed: once((result) => done(null, result)),
    fail: once((err) => (err === undefined || err === null ? done('handled') : done(err, null))),
    done: once(done),
  }, baseContext(id, deadline, clientContext));
  // neither callback nor settled promise when the loop empties: null, or an error for async
  inv.onDrain = handlerIsAsync ? () => respondError(inv, new NodeJsExit())
    : () => respond(inv, null);
  try {
    const result = handler(event, context, callback);
    if (result && typeof result.then === 'function') {
      result.then(context.succeed, context.fail).catch(context.fail);
    }
  } catch (err) {
    callback(err);
  }
}

/** nodejs24.x: the handler's value is awaited; no callback, no succeed/fail/done. */
function runModern(inv, event, id, deadline, clientContext) {
  inv.onDrain = () => respondError(inv, new NodeJsExit());
  let settled;
  try {
    settled = Promise.resolve(handler(event, baseContext(id, deadline, clientContext)));
  } catch (err) {
    settled = Promise.reject(err);
  }
  settled.then(
    (result) => setImmediate(() => respond(inv, result)),
    (err) => setImmediate(() => respondError(inv, err)),
  );
}

function invoke(payload) {
  const [id, deadline, clientContext, event] = JSON.parse(payload.toString('utf8'));
  requestId = id;
  const inv = { replied: false, finished: false, onDrain: null };
  current = inv;
  channel.unref(); // from now on only the handler's own work keeps the loop alive
  (MODERN ? runModern : runClassic)(inv, event, id, deadline, clientContext);
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

function die(err, label, code) {
  const inv = current;
  const line = errorLine(label, err);
  const exit = () => process.exit(code);
  setTimeout(exit, 1000);
  if (!initialised) {
    send(INIT_FAILED, JSON.stringify([formatError(err), line]), exit);
  } else if (inv !== null && !inv.replied) {
    inv.replied = true;
    current = null;
    send(FAILED, JSON.stringify([formatError(err), line, true]), exit);
  } else {
    process.stderr.write(`${line}\n`);
    exit();
  }
}

process.on('uncaughtException', (err) => die(err, 'Uncaught Exception', 129));
process.on('unhandledRejection', (reason) => {
  die(new UnhandledPromiseRejection(reason), 'Unhandled Promise Rejection', 128);
});

async function main() {
  patchConsole();
  process.chdir(TASK_ROOT);
  const fn = await loadHandler(TASK_ROOT, HANDLER);
  if (MODERN && fn.length >= 3) throw new CallbackHandlerDeprecated(CALLBACK_DEPRECATED);
  handler = fn;
  handlerIsAsync = fn.constructor !== undefined && fn.constructor.name === 'AsyncFunction';
  initialised = true;
  send(READY);
}

main().catch((err) => die(err, 'Uncaught Exception', 129));
