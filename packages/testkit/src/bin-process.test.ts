import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startBins, waitUntil } from './bin-process.js';

const bins = startBins();
let cwd: string;

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'haia-testkit-bin-'));
});
afterEach(() => {
  bins.killAll();
  rmSync(cwd, { recursive: true, force: true });
});

function script(name: string, text: string): string {
  const path = join(cwd, name);
  writeFileSync(path, text);
  return path;
}

describe('startBins', () => {
  it('gives only whole JSON lines while a line is still being written', async () => {
    const entry = script(
      'partial.mjs',
      `process.stdout.write('{"a":1}\\n{"b":'); setInterval(() => {}, 1000);`,
    );
    const app = bins.start(entry, { cwd, env: {} });
    await waitUntil(() => app.output().includes('{"b":'), 'the partial line');
    expect(app.lines()).toEqual([{ a: 1 }]);
  });

  it('reads each stream whole: a stderr line in the middle of a stdout line breaks neither', async () => {
    const entry = script(
      'interleaved.mjs',
      `process.stdout.write('{"a":'); setTimeout(() => process.stderr.write('warning\\n'), 50);
       setTimeout(() => process.stdout.write('1}\\n'), 100);`,
    );
    const app = bins.start(entry, { cwd, env: {} });
    expect(await app.exited).toBe(0);
    expect(app.lines()).toEqual([{ a: 1 }]);
    expect(app.output()).toContain('warning');
  });

  it('settles exited once all output is read, its exit code with it', async () => {
    const lines = Array.from({ length: 2000 }, (_, index) => JSON.stringify({ index, pad: 'x'.repeat(200) }));
    const entry = script(
      'burst.mjs',
      `process.stdout.write(${JSON.stringify(`${lines.join('\n')}\n`)}); process.stderr.write('bye\\n'); process.exitCode = 3;`,
    );
    const app = bins.start(entry, { cwd, env: { FROM_TEST: 'yes' } });
    expect(await app.exited).toBe(3);
    expect(app.lines()).toHaveLength(2000);
    expect(app.lines().at(-1)).toMatchObject({ index: 1999 });
    expect(app.output()).toContain('bye');
  });

  it('passes only PATH, LOG_FORMAT=json and the given environment', async () => {
    const entry = script('env.mjs', 'console.log(JSON.stringify(process.env));');
    const app = bins.start(entry, { cwd, env: { ONLY: 'this' } });
    expect(await app.exited).toBe(0);
    const env = app.lines()[0] ?? {};
    expect(Object.keys(env).sort()).toEqual(['LOG_FORMAT', 'ONLY', 'PATH']);
  });
});
