import { describe } from 'node:test';
import { createEncryptedStore } from '../../../src/store/encrypted.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { silentLogger } from '../../../src/types.js';
import { runSharedSuite, runStoreSuite } from './store-suite.js';

describe('memory store', () => {
  runStoreSuite(async (clock) => createMemoryStore({ now: () => clock.now }));
  runSharedSuite(async (clock) => createMemoryStore({ now: () => clock.now }), { local: true });
});

describe('memory store, encrypted', () => {
  runStoreSuite(async (clock) => createEncryptedStore(createMemoryStore({ now: () => clock.now }), { keys: [Buffer.alloc(32, 7)], logger: silentLogger }));
  runSharedSuite(async (clock) => createEncryptedStore(createMemoryStore({ now: () => clock.now }), { keys: [Buffer.alloc(32, 7)], logger: silentLogger }), { local: true });
});
