#!/usr/bin/env node
// The installed command runs the compiled CLI (`npm run build`, run by `npm install` via `prepare`).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(compiled)) {
  process.stderr.write('spaaza-sync is not built yet: run `npm run build` in the project folder.\n');
  process.exit(2);
}
await import(compiled.href);
