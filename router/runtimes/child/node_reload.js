'use strict';
/**
 * Which files of the user's code this worker loaded, for router's hot reload (frame `L`).
 *
 * CommonJS: the module cache (`require.cache`), checked after init and after each invocation.
 * ES modules have no such registry: a load hook registered off-thread with `module.register`
 * (Node.js 20.6+) posts each file it loads through a MessagePort. Files under `node_modules`
 * and router's own worker scripts are not the user's code and are not reported. Each file is
 * reported once.
 */

const fs = require('fs');
const Module = require('module');
const path = require('path');
const { fileURLToPath } = require('url');

const HERE = __dirname + path.sep;
const seen = new Set();
const esm = [];
let cjsCount = -1;
let onNews = null;

const HOOK = `let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) {
  if (url.startsWith('file:')) port.postMessage(url);
  return next(url, context);
}`;

/** Whether the handler loads as an ES module: a load hook is needed to see what it imports.
 * (A CommonJS handler's modules are all in the CommonJS cache; the hook's thread costs every
 * cold start ~30 ms of CPU, so it is started only when needed.) */
function isEsmHandler(taskRoot, handler, modern) {
  if (modern) return true; // 4.x loads every handler with import()
  const base = path.resolve(taskRoot, handler.slice(0, handler.lastIndexOf('.')));
  if (base.endsWith('.mjs') || fs.existsSync(`${base}.mjs`) || fs.existsSync(`${base}.mts`)) return true;
  for (let dir = path.dirname(base); ; dir = path.dirname(dir)) {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).type === 'module';
    } catch (e) {
      if (dir === path.dirname(dir) || e.code !== 'ENOENT') return false;
    }
  }
}

/** Watch ES module loads from now on (``esModules``: only then); ``news()`` is called when
 * some arrived. */
function install(news, esModules) {
  onNews = news;
  if (!esModules || typeof Module.register !== 'function') return; // Node.js < 20.6: CommonJS only
  const { MessageChannel } = require('worker_threads');
  const { port1, port2 } = new MessageChannel();
  port1.on('message', (url) => {
    esm.push(url);
    if (esm.length === 1) setImmediate(() => onNews && onNews());
  });
  port1.unref();
  Module.register(`data:text/javascript,${encodeURIComponent(HOOK)}`, {
    data: { port: port2 }, transferList: [port2],
  });
}

function users(file) {
  return !file.startsWith(HERE) && !/[\\/]node_modules[\\/]/.test(file);
}

/** The files loaded since the last call (maybe none). */
function fresh() {
  const out = [];
  const add = (file) => {
    if (!seen.has(file)) {
      seen.add(file);
      if (users(file)) out.push(file);
    }
  };
  const cache = Object.keys(require.cache);
  if (cache.length !== cjsCount) {
    cjsCount = cache.length;
    for (const file of cache) add(file);
  }
  while (esm.length) {
    const url = esm.shift();
    try {
      add(fileURLToPath(url));
    } catch (e) {
      // not a local file
    }
  }
  return out;
}

module.exports = { install, fresh, isEsmHandler };
