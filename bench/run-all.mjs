#!/usr/bin/env node
// Runs every benchmark in this folder (files named *.bench.mjs) one after the other.
// Each prints its own table of ratios against a baseline measured in the same run.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((name) => name.endsWith('.bench.mjs'))
  .filter((name) => only.length === 0 || only.some((word) => name.includes(word)))
  .sort();
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n## ${file}\n\n`);
  const result = spawnSync(process.execPath, [file], { cwd: here, stdio: 'inherit' });
  if (result.status !== 0) failed++;
}
if (files.length === 0) process.stdout.write('no benchmarks found\n');
process.exit(failed === 0 ? 0 : 1);
