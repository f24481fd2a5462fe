import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  type AnthropicFake,
  type GeminiFake,
  type OllamaFake,
  type OpenAIFake,
  startAnthropicFake,
  startGeminiFake,
  startOllamaFake,
  startOpenAIFake,
} from '@haia/testkit';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Builds src/index.ts the way tsup does (ESM, code splitting, dependencies external), then runs it
// in a fresh node process whose module resolve hook writes every resolved URL to a file. That is
// the list of modules node really loaded, vendor SDKs included.

const packageRoot = fileURLToPath(new URL('..', import.meta.url));
const SDKS = {
  openai: /\/node_modules\/openai\//,
  anthropic: /\/node_modules\/@anthropic-ai\/sdk\//,
  genai: /\/node_modules\/@google\/genai\//,
  ky: /\/node_modules\/ky\//,
  undici: /\/node_modules\/undici\//,
};

const hooks = `
import { appendFileSync } from 'node:fs';
let logFile;
export async function initialize(data) { logFile = data.logFile; }
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(logFile, result.url + '\\n');
  return result;
}
`;

const runner = `
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
const [id, baseURL, logFile] = process.argv.slice(2);
register('./hooks.mjs', import.meta.url, { data: { logFile } });
const loaded = () => readFileSync(logFile, 'utf8').split('\\n').filter(Boolean);
const llm = await import('./index.js');
const afterImport = loaded();
const model = llm.createModel(id, { apiKey: 'sk-lazy-loading-key-0000', baseURL, env: {}, maxRetries: 0 });
let text = '';
for await (const event of model.stream({ messages: [{ role: 'user', content: 'hi' }] })) {
  if (event.type === 'text-delta') text += event.text;
}
process.stdout.write(JSON.stringify({ text, afterImport, afterStream: loaded() }));
`;

let directory: string;
let fake: OpenAIFake;
let ollama: OllamaFake;
let anthropic: AnthropicFake;
let gemini: GeminiFake;

beforeAll(async () => {
  // Inside the package so that bare imports ('openai', ...) resolve from its node_modules.
  directory = await mkdtemp(join(packageRoot, '.lazy-loading-'));
  await build({
    entryPoints: [join(packageRoot, 'src/index.ts')],
    outdir: directory,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
  });
  await writeFile(join(directory, 'hooks.mjs'), hooks);
  await writeFile(join(directory, 'runner.mjs'), runner);
  fake = await startOpenAIFake();
  ollama = await startOllamaFake();
  anthropic = await startAnthropicFake();
  gemini = await startGeminiFake({ apiKey: 'sk-lazy-loading-key-0000' });
});

afterAll(async () => {
  await fake?.close();
  await ollama?.close();
  await anthropic?.close();
  await gemini?.close();
  if (directory) await rm(directory, { recursive: true, force: true });
});

async function run(id: string, baseURL: string) {
  const logFile = join(directory, `loaded-${id.replace(/\W/g, '-')}.txt`);
  await writeFile(logFile, '');
  const { stdout } = await promisify(execFile)(process.execPath, ['runner.mjs', id, baseURL, logFile], {
    cwd: directory,
  });
  return JSON.parse(stdout) as { text: string; afterImport: string[]; afterStream: string[] };
}

function uses(urls: string[], pattern: RegExp) {
  return urls.some((url) => pattern.test(url));
}

describe('lazy loading of vendor SDKs', () => {
  it('importing @haia/llm loads no SDK; using openai loads only the openai SDK', async () => {
    const result = await run('openai:gpt-4o-mini', fake.baseURL);
    expect(result.text).toBe('Hello from the fake.');
    expect(result.afterImport.length).toBeGreaterThan(0);
    for (const pattern of Object.values(SDKS)) expect(uses(result.afterImport, pattern)).toBe(false);
    expect(uses(result.afterStream, SDKS.openai)).toBe(true);
    expect(uses(result.afterStream, SDKS.anthropic)).toBe(false);
    expect(uses(result.afterStream, SDKS.genai)).toBe(false);
    expect(uses(result.afterStream, SDKS.ky)).toBe(false);
  });

  it('using openai-compatible loads undici and no vendor SDK', async () => {
    const result = await run('openai-compatible:local-model', fake.baseURL);
    expect(result.text).toBe('Hello from the fake.');
    expect(uses(result.afterImport, SDKS.undici)).toBe(false);
    expect(uses(result.afterStream, SDKS.undici)).toBe(true);
    for (const pattern of [SDKS.openai, SDKS.anthropic, SDKS.genai, SDKS.ky])
      expect(uses(result.afterStream, pattern)).toBe(false);
  });

  it('using ollama loads ky and no vendor SDK', async () => {
    const result = await run('ollama:llama3.2', ollama.url);
    expect(result.text).toBe('Hello from the Ollama fake.');
    expect(uses(result.afterStream, SDKS.ky)).toBe(true);
    for (const pattern of [SDKS.openai, SDKS.anthropic, SDKS.genai])
      expect(uses(result.afterStream, pattern)).toBe(false);
  });

  it('using anthropic loads only the Anthropic SDK', async () => {
    const result = await run('anthropic:claude-test', anthropic.url);
    expect(result.text.length).toBeGreaterThan(0);
    expect(uses(result.afterStream, SDKS.anthropic)).toBe(true);
    for (const pattern of [SDKS.openai, SDKS.genai, SDKS.ky])
      expect(uses(result.afterStream, pattern)).toBe(false);
  });

  it('using gemini loads only the Google GenAI SDK', async () => {
    const result = await run('gemini:gemini-2.5-flash', gemini.url);
    expect(result.text.length).toBeGreaterThan(0);
    expect(uses(result.afterStream, SDKS.genai)).toBe(true);
    for (const pattern of [SDKS.openai, SDKS.anthropic, SDKS.ky])
      expect(uses(result.afterStream, pattern)).toBe(false);
  });
});
