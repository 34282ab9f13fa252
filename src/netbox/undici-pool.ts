// undici's Pool, loaded by itself. `import { Pool } from 'undici'` evaluates undici's whole
// index: fetch, WebSocket, EventSource, the cache and mock agents and their dependencies,
// none of which the gateway uses: about 90 more modules to read and keep (a bare Node process
// with undici's index and one request through a Pool: +28 MiB resident, with this module alone
// +15 MiB; in a full gateway, where much of the rest is loaded anyway, about 0.5 MiB). The path is undici's own module of
// the class its index exports; undici is pinned in package-lock.json, and
// test/unit/netbox/undici-pool.test.ts checks that this is the same class as the index's, so an
// upgrade that moves it fails there, not in production.
import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';

const require = createRequire(import.meta.url);

export const Pool = require('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
export type Pool = UndiciPool;
