// Memory back to the system when the gateway goes quiet. V8 shrinks its young generation and
// compacts the old one only in a collection that aims at memory, and it starts one by itself only
// after other full collections, which a gateway between bursts may never run: after start-up and
// the first sign-ins, or after a busy hour, the process keeps the memory it grew into. So once no
// request has come for a while after some did, one such collection runs (V8's "last resort"
// flavour: the young generation back to its starting size, pages compacted and released), once
// per quiet spell. Measured with one OIDC source after one sign-in: RSS 79 -> 72.5 MiB, 27 ms
// (docs/performance.md). It needs V8's gc function (node --expose-gc, which bin/netbox-gate.js
// sets for serve); without it nothing happens.
import type { Logger } from '../types.js';

/** The gc function of node --expose-gc, with the options V8 takes. */
export type GcFunction = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

export interface IdleMemoryOptions {
  /** Requests received so far; memory is returned after `idleMs` in which it did not change. */
  activity: () => number;
  idleMs: number;
  /** V8's gc; defaults to globalThis.gc (undefined without --expose-gc: then this does nothing). */
  gc?: GcFunction | undefined;
  logger: Logger;
  now?: () => number;
}

/** Watches for quiet spells until stopped; the returned function stops it. */
export function returnMemoryWhenIdle(o: IdleMemoryOptions): () => void {
  const gc = o.gc ?? (globalThis as { gc?: GcFunction }).gc;
  if (typeof gc !== 'function') return () => undefined;
  const now = o.now ?? Date.now;
  let seen = o.activity();
  let quietSince = now();
  // Start-up counts as activity: its garbage is the first to give back.
  let returned = false;
  const check = () => {
    const n = o.activity();
    if (n !== seen) {
      seen = n;
      quietSince = now();
      returned = false;
      return;
    }
    if (returned || now() - quietSince < o.idleMs) return;
    returned = true;
    const before = process.memoryUsage.rss();
    const t0 = performance.now();
    gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
    o.logger.debug({ idleMs: o.idleMs, ms: Math.round(performance.now() - t0), rssBeforeMiB: Math.round(before / 1048576), rssAfterMiB: Math.round(process.memoryUsage.rss() / 1048576) }, 'idle: memory returned to the system');
  };
  // Checked a few times per spell, so a spell is noticed within a quarter of idleMs.
  const timer = setInterval(check, Math.max(1, Math.floor(o.idleMs / 4)));
  timer.unref();
  return () => clearInterval(timer);
}
