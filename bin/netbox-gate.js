#!/usr/bin/env node
// Entry point; the TypeScript build lives in build/ (npm run build).

const args = process.argv.slice(2);

// `serve` is a long-running proxy whose garbage is short-lived (a request's headers and
// buffers): V8's default young generation grows to 16 MiB per semi-space at start-up (module
// loading) and under load, and keeps it, which is about 10 MiB of the idle RSS and 50 MiB of the
// RSS under load, for no measurable gain in requests/s (docs/performance.md). A semi-space of
// 2 MiB can only be set when the process starts, so `serve` restarts itself in place (execve:
// same pid, same stdio and environment) with the flag, before anything is loaded. A size the
// user gives (node --max-semi-space-size=N, or in NODE_OPTIONS) is kept as it is.
const SEMI_SPACE_MIB = 2;
const flagGiven = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) => /^--max[-_]semi[-_]space[-_]size\b/.test(a));
if (args[0] === 'serve' && !flagGiven && typeof process.execve === 'function') {
  try {
    process.execve(process.execPath, [process.execPath, `--max-semi-space-size=${SEMI_SPACE_MIB}`, ...process.execArgv, process.argv[1], ...args], process.env);
  } catch {
    // execve refused (an unusual platform or sandbox): run with V8's defaults instead.
  }
}

// Imported only now, so that the process above replaces itself before loading anything.
const { run } = await import('../build/src/cli/main.js');
await run(args);
