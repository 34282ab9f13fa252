#!/usr/bin/env node
// Entry point; the TypeScript build lives in build/ (npm run build).
import { run } from '../build/src/cli/main.js';

await run(process.argv.slice(2));
