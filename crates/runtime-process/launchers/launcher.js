// Whirl Node.js launcher (ActionLoop over pipes).
//
// Protocol: JSON lines on stdin, one reply line per request on fd 3, stdout/stderr are the logs.
//   start:  the launcher writes {"ok":true} on fd 3 as soon as it is ready (stem cell).
//   init:   {"init":{"name":..,"main":..,"dir":..,"src":..|null,"file":..|null,"env":{..}}}
//           (with "src", the code is copied from that read-only dir into "dir" first)
//           reply {"ok":true} or !{"error":".."} (developer error).
//   run:    {"value":..,"namespace":..,"action_name":..,...}
//           reply: the raw JSON result, or !{"error":".."} for a developer error.
// After every init/run the sentinel is written on stdout and stderr before the reply.
//
// Concurrent framing (an init with "concurrency": N > 1, openwhisk-runtime-nodejs semantics):
// run lines carry "seq" and are started as they arrive, without waiting for the ones running;
// the reply is "<seq> <reply>"; every line an activation writes to stdout/stderr from its own
// asynchronous context is tagged "\x01<seq>\x01<text>", its sentinels too, and the __OW_*
// variables it reads from process.env are its own (AsyncLocalStorage).
'use strict';

const fs = require('fs');
const vm = require('vm');
const path = require('path');
const Module = require('module');
const readline = require('readline');
const { pathToFileURL } = require('url');

const SENTINEL = 'XXX_THE_END_OF_A_WHISK_ACTIVATION_XXX';
// Warm up only if no request came this long after the ready line.
const WARM_UP_AFTER_MS = 10;
// Tagged log lines are cut into pieces of at most this many characters (4 bytes each at most in
// UTF-8), so that none is split by the host's 16 KiB line limit without its tag.
const TAG_PIECE = 4000;
let handler = null;
let runKeys = [];
// Set by an init with a concurrency above 1.
let concurrent = null;

function reply(text) {
  const buf = Buffer.from(text + '\n', 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(3, buf, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
    }
  }
}

function sentinels() {
  process.stdout.write(SENTINEL + '\n');
  process.stderr.write(SENTINEL + '\n');
}

function devText(message) {
  return '!' + JSON.stringify({ error: String(message) });
}

function developerError(message) {
  sentinels();
  reply(devText(message));
}

function errorText(e) {
  return e && e.stack ? String(e.stack) : String(e);
}

function lookup(obj, dotted) {
  return dotted.split('.').reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
}

async function loadZip(dir, entry) {
  if (!fs.existsSync(path.join(dir, 'package.json')) && !fs.existsSync(path.join(dir, 'index.js'))) {
    throw 'Zipped actions must contain either package.json or index.js at the root.';
  }
  let mod;
  try {
    mod = require(dir);
  } catch (e) {
    if (!e || e.code !== 'ERR_REQUIRE_ESM') throw e;
    mod = await import(pathToFileURL(require.resolve(dir)).href);
  }
  return lookup(mod, entry);
}

function loadFile(filename, entry) {
  const code = fs.readFileSync(filename, 'utf8');
  const m = new Module(filename, null);
  m.filename = filename;
  m.paths = Module._nodeModulePaths(path.dirname(filename));
  const probe = /^[A-Za-z_$][\w$]*$/.test(entry)
    ? `\n;try { module.__whirl_entry__ = (typeof ${entry} === 'function') ? ${entry} : undefined } catch (e) {}\n`
    : '';
  try {
    m._compile(code + probe, filename);
  } catch (e) {
    // Report syntax errors against the user's own code, without the entry probe.
    if (e instanceof SyntaxError) {
      vm.compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
    }
    throw e;
  }
  const fromExports = m.exports === null || m.exports === undefined ? undefined : lookup(m.exports, entry);
  if (typeof fromExports === 'function') return fromExports;
  if (typeof m.__whirl_entry__ === 'function') return m.__whirl_entry__;
  if (typeof m.exports === 'function' && entry === 'main') return m.exports;
  return fromExports;
}

// Copies the code from the read-only source into the (size-capped, writable) action dir.
function copyCode(src, dir, file) {
  if (file) fs.copyFileSync(path.join(src, file), path.join(dir, file));
  else fs.cpSync(src, dir, { recursive: true, verbatimSymlinks: true });
}

async function init(msg) {
  if (handler !== null) {
    developerError('Cannot initialize the action more than once.');
    return;
  }
  try {
    for (const [k, v] of Object.entries(msg.env || {})) {
      process.env[k] = typeof v === 'string' ? v : JSON.stringify(v);
    }
    const entry = msg.main || 'main';
    if (msg.src) copyCode(msg.src, msg.dir, msg.file);
    process.chdir(msg.dir);
    const fn = msg.file ? loadFile(path.join(msg.dir, msg.file), entry) : await loadZip(msg.dir, entry);
    if (typeof fn !== 'function') {
      throw "Action entrypoint '" + entry + "' is not a function.";
    }
    handler = fn;
  } catch (e) {
    if (e && e.stack) console.error(e.stack);
    developerError('Initialization has failed due to: ' + errorText(e));
    return;
  }
  sentinels();
  if (msg.concurrency > 1) goConcurrent();
  reply('{"ok":true}');
}

// Switches to concurrent framing: tagged writes and per-activation __OW_* variables.
function goConcurrent() {
  const { AsyncLocalStorage } = require('async_hooks');
  const als = new AsyncLocalStorage();
  const raw = [process.stdout, process.stderr].map((stream, i) => {
    const write = stream.write.bind(stream);
    stream.write = function (chunk, encoding, cb) {
      const ctx = als.getStore();
      if (ctx === undefined) return write(chunk, encoding, cb);
      if (typeof encoding === 'function') {
        cb = encoding;
        encoding = undefined;
      }
      let text;
      if (typeof chunk === 'string') {
        text = encoding && !/^utf-?8$/i.test(encoding) ? Buffer.from(chunk, encoding).toString('utf8') : chunk;
      } else {
        text = Buffer.from(chunk).toString('utf8');
      }
      const lines = (ctx.partial[i] + text).split('\n');
      ctx.partial[i] = lines.pop();
      let out = lines.map((l) => tagged(ctx.seq, l)).join('');
      while (ctx.partial[i].length > TAG_PIECE) {
        out += tagged(ctx.seq, ctx.partial[i].slice(0, TAG_PIECE));
        ctx.partial[i] = ctx.partial[i].slice(TAG_PIECE);
      }
      if (out === '') {
        if (typeof cb === 'function') process.nextTick(cb);
        return true;
      }
      return write(out, 'utf8', cb);
    };
    return write;
  });
  const own = (ctx, k) => ctx !== undefined && typeof k === 'string' && Object.prototype.hasOwnProperty.call(ctx.env, k);
  process.env.__OW_ALLOW_CONCURRENT = 'true';
  process.env = new Proxy(process.env, {
    get: (t, k) => (own(als.getStore(), k) ? als.getStore().env[k] : Reflect.get(t, k)),
    has: (t, k) => own(als.getStore(), k) || Reflect.has(t, k),
    set: (t, k, v) => {
      const ctx = als.getStore();
      if (own(ctx, k)) {
        ctx.env[k] = String(v);
        return true;
      }
      return Reflect.set(t, k, v);
    },
    deleteProperty: (t, k) => {
      const ctx = als.getStore();
      if (own(ctx, k)) return delete ctx.env[k];
      return Reflect.deleteProperty(t, k);
    },
    ownKeys: (t) => {
      const keys = Reflect.ownKeys(t);
      const ctx = als.getStore();
      if (ctx !== undefined) for (const k of Object.keys(ctx.env)) if (!keys.includes(k)) keys.push(k);
      return keys;
    },
    getOwnPropertyDescriptor: (t, k) => {
      const ctx = als.getStore();
      if (own(ctx, k)) return { value: ctx.env[k], writable: true, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(t, k);
    },
  });
  concurrent = { als, raw };
}

function tagged(seq, line) {
  let out = '';
  do {
    out += '\x01' + seq + '\x01' + line.slice(0, TAG_PIECE) + '\n';
    line = line.slice(TAG_PIECE);
  } while (line.length > 0);
  return out;
}

// One activation in concurrent framing: started at once, answered when it ends.
function runConcurrent(msg) {
  const seq = msg.seq;
  const env = {};
  for (const [k, v] of Object.entries(msg)) {
    if (k === 'value' || k === 'seq') continue;
    env['__OW_' + k.toUpperCase()] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  const ctx = { seq, env, partial: ['', ''] };
  concurrent.als.run(ctx, () => {
    execute(msg.value).then((text) => {
      concurrent.raw.forEach((write, i) => {
        if (ctx.partial[i] !== '') write(tagged(seq, ctx.partial[i]));
        ctx.partial[i] = '';
        write(tagged(seq, SENTINEL));
      });
      reply(seq + ' ' + text);
    });
  });
}

// What a rejection becomes: `{error: serializeError(reason)}`, as in openwhisk-runtime-nodejs,
// which uses the serialize-error package (v9) for this. So a reason that is itself an object is
// copied, not unwrapped: rejecting with `{error: 'x'}` gives `{error: {error: 'x'}}`.
// - primitives stay as they are (a string gives `{error: 'text'}`); a falsy reason gives `{}`;
// - a function becomes the text `[Function: name]`;
// - objects and arrays (Error instances included) are copied: own enumerable properties in order,
//   nested objects likewise, functions left out, Buffers and streams named, a reference back to
//   an object being copied becomes '[Circular]', an object with toJSON gives what it returns;
//   then `name`, `message`, `stack` and `code` are added when they are strings (for an Error,
//   its own or inherited ones);
// - if copying throws (a throwing getter or toJSON), the result is `{error: <its message>}`.
const ERROR_PROPS = ['name', 'message', 'stack', 'code'];

function serializeError(reason) {
  if (!reason) return {};
  if (typeof reason === 'function') return `[Function: ${reason.name || 'anonymous'}]`;
  if (typeof reason !== 'object') return reason;
  return copyReason(reason, []);
}

const inToJSON = new Set();

function copyReason(from, path) {
  if (typeof from.toJSON === 'function' && !inToJSON.has(from)) {
    inToJSON.add(from);
    try {
      return from.toJSON();
    } finally {
      inToJSON.delete(from);
    }
  }
  const to = Array.isArray(from) ? [] : {};
  path = path.concat([from]);
  for (const [key, value] of Object.entries(from)) {
    if (typeof value === 'function') continue;
    if (Buffer.isBuffer(value)) {
      to[key] = '[object Buffer]';
    } else if (value !== null && typeof value === 'object' && typeof value.pipe === 'function') {
      to[key] = '[object Stream]';
    } else if (value === null || typeof value !== 'object') {
      to[key] = value;
    } else if (path.includes(value)) {
      to[key] = '[Circular]';
    } else {
      to[key] = copyReason(value, path);
    }
  }
  for (const prop of ERROR_PROPS) {
    if (typeof from[prop] === 'string') to[prop] = from[prop];
  }
  return to;
}

async function run(msg) {
  if (handler === null) {
    developerError('no action defined yet');
    return;
  }
  if (concurrent !== null) {
    runConcurrent(msg);
    return;
  }
  // Variables of the previous activation that this one lacks (api_key) must not leak.
  for (const k of runKeys) delete process.env[k];
  runKeys = [];
  for (const [k, v] of Object.entries(msg)) {
    if (k === 'value') continue;
    const key = '__OW_' + k.toUpperCase();
    process.env[key] = typeof v === 'string' ? v : JSON.stringify(v);
    runKeys.push(key);
  }
  const text = await execute(msg.value);
  sentinels();
  reply(text);
}

// Runs the handler on `value`; the reply text: the JSON result, or a developer error.
async function execute(value) {
  let pending;
  try {
    pending = handler(value === undefined ? {} : value);
  } catch (e) {
    console.error(errorText(e));
    return devText('An error has occurred: ' + e);
  }
  let result;
  try {
    result = await pending;
    if (result === undefined) result = {};
  } catch (e) {
    try {
      result = { error: serializeError(e) };
    } catch (err) {
      result = { error: err && err.message };
    }
  }
  if (typeof result !== 'object' || result === null) {
    console.error('The action did not return a dictionary: not a json object');
    return devText('The action did not return a dictionary.');
  }
  let text;
  try {
    text = JSON.stringify(result);
  } catch (e) {
    return devText('An error has occurred: ' + e);
  }
  return text === undefined ? '{}' : text;
}

// The first init of a fresh node process is slow (about 2 ms here) because V8 compiles the
// launcher's own code, node's readline and module paths lazily, and stdio streams are built on
// first use. An idle launcher (a stem cell) pays that ahead, on a throw-away file. It costs more
// than it saves when the init is already on its way (a cold start), hence WARM_UP_AFTER_MS.
async function warmUpLines() {
  const p = new (require('stream').PassThrough)();
  const rl = readline.createInterface({ input: p, crlfDelay: Infinity, terminal: false });
  p.end('{"init":{"name":"w","dir":"/","file":null,"env":{}}}\n');
  for await (const line of rl) JSON.parse(line);
}

function warmUp() {
  warmUpLines().catch(() => {});
  let dir = null;
  try {
    dir = fs.mkdtempSync(path.join(require('os').tmpdir(), '.whirl-warm-up-'));
    const src = path.join(dir, 'src.js');
    const file = path.join(dir, 'index.js');
    fs.writeFileSync(src, 'function main(a) { return { a } }');
    fs.copyFileSync(src, file);
    const fn = loadFile(file, 'main');
    JSON.stringify(fn(JSON.parse('{"x":[1,"y",null]}')));
    process.stdout.write('');
    process.stderr.write('');
  } catch (e) {
    // Only an optimisation: real requests do not depend on it.
  }
  try {
    if (dir !== null) fs.rmSync(dir, { recursive: true, force: true });
  } catch (e) {
    // As above.
  }
}

async function mainLoop() {
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  reply('{"ok":true}');
  const warmUpTimer = setTimeout(warmUp, WARM_UP_AFTER_MS);
  for await (const line of rl) {
    clearTimeout(warmUpTimer);
    if (line.trim() === '') continue;
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      developerError('The launcher received an invalid request: ' + e);
      continue;
    }
    if (msg && typeof msg === 'object' && msg.init) await init(msg.init);
    else await run(msg || {});
  }
  process.exit(0);
}

mainLoop().catch((e) => {
  console.error(errorText(e));
  process.exit(1);
});
