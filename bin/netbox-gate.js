#!/usr/bin/env node
// Entry point; the TypeScript build lives in build/ (npm run build).

const args = process.argv.slice(2);

// A V8 setting for `serve`, a long-running proxy whose garbage is short-lived (a request's
// headers and buffers, a sign-in's tokens). Measured with one OIDC source and the memory store,
// against V8's defaults, in the same run (issue 11):
// - --max-semi-space-size=4: V8 grows the young generation (without pointer compression, as
//   Node is built, up to 64 MiB per semi-space) at start-up and under load, and keeps it: idle
//   RSS 104 -> 100 MiB, RSS after a wrk run about 165 -> 119 MiB, requests/s the same or
//   better (1.03 of V8's default, median of 6 rounds, in two runs). 2 MiB saves 3 MiB more
//   idle but cost about 5% of requests/s in one of two A/B runs.
// (Not set: --heap-growing-percent=20, which lets the old generation grow by 20% after a full
// GC instead of up to 4x, cut RSS after 2,000 sign-ins from about 300 to 132 MiB but cost about
// 2.5% of requests/s on the proxy path; `node --heap-growing-percent=20 netbox-gate.js serve`.)
// It can only be set when the process starts, so `serve` restarts itself in place (execve:
// same pid, stdio, environment and node options) with it, before anything is loaded. A
// setting the user gives (node --max-semi-space-size=N, or in NODE_OPTIONS) is kept as it is.
const SERVE_V8_FLAGS = ['--max-semi-space-size=4'];
if (args[0] === 'serve' && typeof process.execve === 'function') {
  const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].map((a) => a.split('=')[0].replaceAll('_', '-'));
  const missing = SERVE_V8_FLAGS.filter((f) => !given.includes(f.split('=')[0]));
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
