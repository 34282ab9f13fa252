#!/usr/bin/env node
// Entry point; the TypeScript build lives in build/ (npm run build).

const args = process.argv.slice(2);

// V8 settings for `serve`, a long-running proxy whose garbage is short-lived (a request's
// headers and buffers, a sign-in's tokens). Measured with one OIDC source and the memory store,
// against V8's defaults, in the same run (issue 11; docs/performance.md):
// - --max-semi-space-size=4: V8 grows the young generation (without pointer compression, as
//   Node is built, up to 64 MiB per semi-space) at start-up and under load, and keeps it: idle
//   RSS 104 -> 100 MiB, RSS after a wrk run about 165 -> 119 MiB, requests/s the same or
//   better (1.03 of V8's default, median of 6 rounds, in two runs). 2 MiB saves 3 MiB more
//   idle but cost about 5% of requests/s in one of two A/B runs.
// - --liftoff-only: WebAssembly stays with V8's baseline compiler. The one WebAssembly module a
//   gateway runs is llhttp, the HTTP parser of undici (the NetBox connections) and of Node's
//   fetch (the IdP calls): after a few requests V8 re-compiles it with its optimising compiler,
//   which takes about 24 MiB of malloc'd memory for a moment that the C allocator keeps (idle
//   RSS after one sign-in 90 -> 81 MiB; after a wrk run 115 -> 108), for a parser that reads a
//   few hundred bytes of response head per request: requests/s 0.99 of the default, CPU per
//   request the same (median of 6 rounds).
// - --no-maglev: no mid-tier JavaScript compiler (hot code goes from the baseline straight to
//   the optimising compiler): its code pages and compile memory are 2.5 MiB of idle RSS and
//   about 17 MiB after a wrk run (108 -> 91), for about 3% of requests/s and CPU per request.
// (Not set: --heap-growing-percent=20, which lets the old generation grow by 20% after a full
// GC instead of up to 4x, cut RSS after 2,000 sign-ins from about 300 to 132 MiB but cost about
// 2.5% of requests/s on the proxy path; `node --heap-growing-percent=20 netbox-gate.js serve`.)
// They can only be set when the process starts, so `serve` restarts itself in place (execve:
// same pid, stdio, environment and node options) with them, before anything is loaded. A
// setting the user gives, either way (node --maglev, --max-semi-space-size=N, or in
// NODE_OPTIONS), is kept as it is.
const SERVE_V8_FLAGS = ['--max-semi-space-size=4', '--liftoff-only', '--no-maglev'];
/** The name a V8 flag sets, whichever way it is written: --no-maglev and --maglev both set "maglev". */
const flagName = (a) => a.split('=')[0].replace(/^--/, '').replaceAll('_', '-').replace(/^no-/, '');
if (args[0] === 'serve' && typeof process.execve === 'function') {
  const given = new Set([...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].filter((a) => a.startsWith('--')).map(flagName));
  const missing = SERVE_V8_FLAGS.filter((f) => !given.has(flagName(f)));
  if (missing.length > 0) {
    try {
      process.execve(process.execPath, [process.execPath, ...missing, ...process.execArgv, process.argv[1], ...args], process.env);
    } catch {
      // execve refused (an unusual platform or sandbox): run with V8's defaults instead.
    }
  }
}

// Imported only now, so that the process above replaces itself before loading anything.
const { run } = await import('../build/src/cli/main.js');
await run(args);
