import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { createStore } from './index.js';

/** The README's first TypeScript example, importing this package's source instead of the build. */
function readmeExample(): string {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```ts example');
  const index = pathToFileURL(fileURLToPath(new URL('./index.ts', import.meta.url))).href;
  return block.replaceAll("from '@haia/store'", `from '${index}'`);
}

const folders: string[] = [];
afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

it("runs the README's main example as written, on embedded PGlite", async () => {
  const folder = mkdtempSync(join(tmpdir(), 'haia-store-readme-'));
  folders.push(folder);
  const dataDir = join(folder, 'db');
  const example = readmeExample();
  expect(example).toContain("createStore({ dataDir: '.haia/db' })");
  const file = join(folder, 'example.ts');
  writeFileSync(file, `${example.replace("'.haia/db'", JSON.stringify(dataDir))}\nexport { turn };\n`);

  const { turn } = (await import(pathToFileURL(file).href)) as {
    turn: { conversation: { id: string }; created: boolean };
  };

  expect(turn.created).toBe(true);
  const store = await createStore({ dataDir });
  try {
    const stored = await store.getConversation(turn.conversation.id);
    expect(stored?.conversation.userId).toBe('alice');
    expect(stored?.messages).toMatchObject([
      { role: 'user', content: 'Is pve1 up?', status: 'complete' },
      {
        role: 'assistant',
        content: [{ type: 'text', text: 'Yes.' }],
        status: 'complete',
        model: 'ollama:qwen3',
        usage: { inputTokens: 20, outputTokens: 2 },
      },
    ]);
  } finally {
    await store.close();
  }
});
