'use strict';
/*
 * Loading the handler and the Runtime.* errors, as AWS's Node.js runtime interface client
 * does, for node_worker.js. Citations as there: "3.x src/X.js:N" is the v3.3.0 tag of
 * aws/aws-lambda-nodejs-runtime-interface-client, "4.x index.mjs:N" the npm package
 * aws-lambda-ric@4.0.2. On nodejs18.x-22.x (3.x) modules are required from this file, so a
 * "Require stack" ends with router's worker files, as Lambda's ends with /var/runtime/index.mjs.
 */

const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

const MODERN = process.argv.length > 5 && parseInt(process.argv[5].replace(/^nodejs/, ''), 10) >= 24;

// ------------------------------------------------------------------------------ errors

/** A Runtime.* error class. 3.x names them on the prototype (src/Errors.js:102-121); 4.x sets
 * an own `name` in the constructor (index.mjs:151-212), so it shows in the logged JSON. */
function named(name) {
  const full = `Runtime.${name}`;
  const cls = class extends Error {
    constructor(message) {
      super(message);
      if (MODERN) this.name = full;
    }
  };
  if (!MODERN) cls.prototype.name = full;
  return cls;
}
const ImportModuleError = named('ImportModuleError');
const HandlerNotFound = named('HandlerNotFound');
const MalformedHandlerName = named('MalformedHandlerName');
const CallbackHandlerDeprecated = named('CallbackHandlerDeprecated');
const JSONStringifyError = named('JSONStringifyError');
const MalformedStreamingHandler = named('MalformedStreamingHandler'); // 3.x src/Errors.js:107-108
const InvalidStreamingOperation = named('InvalidStreamingOperation');
const SyntaxErrorBase = named('UserCodeSyntaxError');
class UserCodeSyntaxError extends SyntaxErrorBase {
  constructor(original) {
    super(String(original)); // message "SyntaxError: ..." in both versions
    if (MODERN) this.stack = original.stack; // 4.x index.mjs:168-174: Node's own stack kept
  }
}
// 3.x src/Errors.js:109-115: the reason and the promise are own properties (logged: "promise":{})
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
UnhandledPromiseRejection.prototype.name = 'Runtime.UnhandledPromiseRejection';

// 4.x index.mjs:259 (dist/context/constants.js CALLBACK_ERROR_NODEJS24_ABOVE)
const CALLBACK_DEPRECATED =
  'ERROR: AWS Lambda has removed support for callback-based function handlers starting ' +
  'with Node.js 24. You need to modify this function to use a supported handler signature ' +
  'to use Node.js 24 or later. For more information see ' +
  'https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html.';

// ------------------------------------------------------------------------------ loading

function typeModule(folder) {
  // 3.x src/UserFunction.js:87-123: the nearest package.json decides whether .js is an ES module
  if (folder.endsWith(`${path.sep}node_modules`)) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  const parent = path.dirname(folder);
  return parent === folder ? false : typeModule(parent);
}

const esImport = (file) => import(pathToFileURL(file).href);

/** 3.x src/UserFunction.js:138-194: the name as is (a file without extension, or a folder
 * with its index.js) and .js by require unless "type": "module", then .js/.mjs by import,
 * .cjs by require, then Node's resolution from the task root. */
async function loadClassic(base, name, appRoot, moduleRoot) {
  const exists = fs.existsSync;
  const asIs = exists(base) ? require(base) : undefined;
  if (asIs) return asIs;
  const esm = exists(`${base}.js`) && typeModule(path.dirname(`${base}.js`));
  const js = !esm && exists(`${base}.js`) ? require(`${base}.js`) : undefined;
  if (js) return js;
  const loaded = (esm && await esImport(`${base}.js`)) ||
    (exists(`${base}.mjs`) && await esImport(`${base}.mjs`)) ||
    (exists(`${base}.cjs`) ? require(`${base}.cjs`) : undefined) ||
    await loadTypeScript(base, false);
  if (loaded) return loaded;
  return require(require.resolve(name, { paths: [appRoot, moduleRoot] }));
}

/** 4.x index.mjs:556-581: everything by import(), trying '', .js, .mjs, .cjs (a folder is
 * refused by Node: "Directory import ... is not supported"), then Node's resolution. */
async function loadModern(base, name, appRoot, moduleRoot) {
  for (const extension of ['', '.js', '.mjs', '.cjs']) {
    const module = fs.existsSync(base + extension) ? await esImport(base + extension) : undefined;
    if (module) return module;
  }
  const ts = await loadTypeScript(base, true);
  if (ts) return ts;
  return require(require.resolve(name, { paths: [appRoot, path.join(appRoot, moduleRoot)] }));
}

/** Not Lambda's (its runtime loads JavaScript only): a .ts or .mts handler, after the JavaScript
 * candidates (router/runtimes/typescript.py). Node decides a .ts file's module system as a .js
 * file's (the nearest package.json's "type"), a .mts is always an ES module: so .ts is required
 * unless "type": "module" (or on 4.x, which imports everything), .mts imported. Node runs them
 * when router started the worker with tsx's loader (--import) or Node strips types itself. */
async function loadTypeScript(base, modern) {
  const file = ['.ts', '.mts'].map((ext) => base + ext).find((f) => fs.existsSync(f));
  if (!file) return undefined;
  const tsx = process.execArgv.some((arg) => arg.startsWith('--import='));
  if (!tsx && !process.features.typescript) {
    throw new ImportModuleError(`Error: Cannot load the TypeScript handler ${file}: Node.js ` +
      `${process.version} does not run TypeScript and no tsx was found (node_modules/.bin from the ` +
      'function\'s code folder up, or PATH). Install it: npm install --save-dev tsx ' +
      '(or use Node.js 22.18+ / 23.6+, which strip types)');
  }
  const esm = modern || file.endsWith('.mts') || typeModule(path.dirname(file));
  return esm ? esImport(file) : require(file);
}

/** 3.x src/UserFunction.js:64-68 walks any value; 4.x index.mjs:582-600 walks objects only
 * (never through a function), then tries the module's default export. */
function resolveHandler(app, exportPath) {
  const keys = exportPath.split('.');
  if (!MODERN) return keys.reduce((obj, key) => obj && obj[key], app);
  const find = (root) => keys.reduce(
    (obj, key) => (obj && typeof obj === 'object' ? obj[key] : undefined), root);
  const fn = find(app);
  if (!fn && typeof app === 'object' && app !== null && 'default' in app) return find(app.default);
  return fn;
}

async function loadHandler(appRoot, full) {
  // 3.x src/UserFunction.js:230-236 and 40-59; 4.x index.mjs:479-496, 541-546
  if (full.includes('..')) {
    throw new MalformedHandlerName(`'${full}' is not a valid handler name. Use absolute ` +
      'paths when specifying root directories in handler names.');
  }
  const baseName = path.basename(full);
  const moduleRoot = full.substring(0, full.indexOf(baseName));
  const match = baseName.match(/^([^.]*)\.(.*)$/);
  if (!match) throw new MalformedHandlerName('Bad handler');
  const base = path.resolve(appRoot, moduleRoot, match[1]);
  let app;
  try {
    app = await (MODERN ? loadModern : loadClassic)(base, match[1], appRoot, moduleRoot);
  } catch (e) {
    // 3.x src/UserFunction.js:216-227, 4.x index.mjs:572-580
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && e.code === 'MODULE_NOT_FOUND') throw new ImportModuleError(e);
    throw e;
  }
  const fn = resolveHandler(app, match[2]);
  if (!fn) throw new HandlerNotFound(`${full} is undefined or not exported`);
  if (typeof fn !== 'function') throw new HandlerNotFound(`${full} is not a function`);
  return fn;
}

// ------------------------------------------------------------------------------ the AWS SDK

/* ES modules do not read NODE_PATH, where router puts its copy of the AWS SDK v3
 * (router/runtimes/node_sdk.py): a bare specifier found nowhere from the importing file is
 * resolved again from each NODE_PATH folder, so `import … from '@aws-sdk/client-s3'` works in
 * an ES module too, as on Lambda, whose runtime holds the SDK. Otherwise Node's own error stands. */
const NODE_PATH_HOOK = `let bases = [];
export function initialize(data) { bases = data.bases; }
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err?.code !== 'ERR_MODULE_NOT_FOUND' || /^([./]|[a-zA-Z][a-zA-Z0-9+.-]*:)/.test(specifier)) throw err;
    for (const parentURL of bases) {
      try { return await next(specifier, { ...context, parentURL }); } catch (e) { /* the next folder */ }
    }
    throw err;
  }
}`;

/** Register the NODE_PATH fallback for ES modules (Node.js 20.6+: module.register). */
function esmNodePath() {
  const Module = require('module');
  const folders = (process.env.NODE_PATH || '').split(path.delimiter)
    .filter((folder) => path.basename(folder) === 'node_modules' && fs.existsSync(folder));
  // (a hook costs every cold start ~30 ms of CPU for its thread: only when there is a copy to find)
  if (!folders.length || typeof Module.register !== 'function') return;
  const bases = folders.map((folder) => pathToFileURL(path.join(path.dirname(folder), 'x.mjs')).href);
  Module.register(`data:text/javascript,${encodeURIComponent(NODE_PATH_HOOK)}`, { data: { bases } });
}

module.exports = {
  loadHandler, esmNodePath, MalformedStreamingHandler, InvalidStreamingOperation, UserCodeSyntaxError, CallbackHandlerDeprecated, JSONStringifyError,
  UnhandledPromiseRejection, CALLBACK_DEPRECATED,
};
