import { describe } from 'node:test';
import { createMemoryStore } from '../../../src/store/memory.js';
import { runStoreSuite } from './store-suite.js';

describe('memory store', () => {
  runStoreSuite(async (clock) => createMemoryStore({ now: () => clock.now }));
});
