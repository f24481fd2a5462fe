import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startOpenAIFake } from '@haia/testkit';
import { afterEach, expect, it, vi } from 'vitest';
import type { GenerateResult } from './index.js';

/** The README's first TypeScript example, importing this package's source instead of the build. */
function readmeExample(): string {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (!block) throw new Error('README.md has no ```ts example');
  const index = pathToFileURL(fileURLToPath(new URL('./index.ts', import.meta.url))).href;
  return block.replaceAll("from '@haia/llm'", `from '${index}'`);
}

const folders: string[] = [];
afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

it("runs the README's main example as written, against the OpenAI fake", async () => {
  await using fake = await startOpenAIFake({ apiKeys: ['sk-readme'] });
  fake.enqueue({ text: 'Hi there!' }, { text: 'Hello again.' });
  // The example passes process.env.OPENAI_API_KEY; the base URL comes from the documented fallback.
  vi.stubEnv('OPENAI_API_KEY', 'sk-readme');
  vi.stubEnv('OPENAI_BASE_URL', fake.baseURL);
  const written: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  const logged = vi.spyOn(console, 'log').mockImplementation(() => {});
  const folder = mkdtempSync(join(tmpdir(), 'haia-llm-readme-'));
  folders.push(folder);
  const file = join(folder, 'example.ts');
  writeFileSync(file, `${readmeExample()}\nexport { result };\n`);

  const { result } = (await import(pathToFileURL(file).href)) as { result: GenerateResult };

  expect(written.join('')).toBe('Hi there!');
  expect(logged).toHaveBeenCalledWith(
    '\n',
    'stop',
    expect.objectContaining({ inputTokens: expect.any(Number) }),
    'openai:gpt-4o-mini',
  );
  expect(result).toMatchObject({
    text: 'Hello again.',
    finishReason: 'stop',
    message: { role: 'assistant', content: [{ type: 'text', text: 'Hello again.' }] },
    response: { model: 'openai:gpt-4o-mini' },
  });
  expect(fake.requests.map((request) => request.body.messages)).toEqual([
    [{ role: 'user', content: 'Say hi' }],
    [{ role: 'user', content: 'Say hi' }],
  ]);
});
