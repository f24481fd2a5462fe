import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.js';
import { loadConfig, readEnvironment } from './load-config.js';
import { redactConfig } from './redact-config.js';
import { CONFIG_VARIABLES } from './schema.js';

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'haia-config-'));
});
afterEach(() => {
  rmSync(cwd, { recursive: true, force: true });
});

function load(env: Record<string, string | undefined>, extra: { isTTY?: boolean } = {}) {
  return loadConfig({ env, cwd, ...extra });
}

function problemsOf(env: Record<string, string | undefined>) {
  try {
    load(env);
  } catch (error) {
    if (ConfigError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults', () => {
  it('starts with nothing set: loopback, ollama, embedded database', () => {
    const config = load({});
    expect(config.app).toMatchObject({
      host: '127.0.0.1',
      port: 8000,
      apiKeys: [],
      corsOrigins: [],
      maxSteps: 8,
    });
    expect(config.app.toolTimeoutMs).toBe(30_000);
    expect(config.app.contextTokens).toBe(32_000);
    expect(config.app.logLevel).toBe('info');
    expect(config.app.logFormat).toBe('json');
    expect(config.app.dataDir).toBe(join(cwd, '.haia'));
    expect(config.model.model).toEqual({ id: 'ollama:llama3.2', provider: 'ollama', modelId: 'llama3.2' });
    expect(config.model.providers.ollama.baseURL).toBe('http://127.0.0.1:11434');
    expect(config.store).toMatchObject({ databaseUrl: undefined, poolMax: 10, connectTimeoutMs: 10_000 });
    expect(config.proxmox).toBeUndefined();
    expect(config.mcp).toEqual({ configPath: undefined, explicit: false });
    expect(config.notify).toEqual({ telegram: undefined, discord: undefined, ntfy: undefined });
    expect(config.monitor).toEqual({
      vmIntervalMs: 300_000,
      cephIntervalMs: 3_600_000,
      storageIntervalMs: 900_000,
      storageThresholdPercent: 85,
      failureThreshold: 2,
      reminderIntervalMs: 14_400_000,
      quietHours: undefined,
      aiSummary: false,
      port: 8001,
    });
  });

  it('defaults LOG_FORMAT to pretty on a terminal', () => {
    expect(load({}, { isTTY: true }).app.logFormat).toBe('pretty');
    expect(load({ LOG_FORMAT: 'json' }, { isTTY: true }).app.logFormat).toBe('json');
  });

  it('treats empty values as unset', () => {
    expect(load({ PORT: '', HAIA_MODEL: '  ' }).app.port).toBe(8000);
  });
});

describe('loadConfig parsing', () => {
  it('reads every kind of value', () => {
    writeFileSync(join(cwd, 'ca.pem'), '');
    const config = load({
      HOST: '0.0.0.0',
      PORT: '9000',
      HAIA_API_KEYS: 'k1, k2',
      HAIA_CORS_ORIGINS: 'http://a.lan:3000,*',
      HAIA_MODEL: 'ollama:llama3.1:8b',
      HAIA_FALLBACK_MODELS: 'anthropic:claude-sonnet-4-5, openai:gpt-4o-mini',
      HAIA_MODELS: 'gemini:gemini-2.5-flash',
      ANTHROPIC_API_KEY: 'sk-ant',
      OPENAI_API_KEY: 'sk-oa',
      GOOGLE_API_KEY: 'g-key',
      DATABASE_URL: 'postgres://haia:pw@db:5432/haia',
      DATABASE_POOL_MAX: '4',
      PROXMOX_URL: 'https://pve.lan:8006/',
      PROXMOX_TOKEN_ID: 'haia@pve!ro',
      PROXMOX_TOKEN_SECRET: 'uuid-secret',
      PROXMOX_VERIFY_TLS: 'no',
      PROXMOX_CA_FILE: 'ca.pem',
      TELEGRAM_BOT_TOKEN: '123:abc',
      TELEGRAM_CHAT_ID: '-100',
      NTFY_URL: 'https://ntfy.sh/homelab',
      HAIA_MONITOR_VM_INTERVAL: '30s',
      HAIA_MONITOR_CEPH_INTERVAL: '2h',
      HAIA_MONITOR_REMINDER_INTERVAL: 'off',
      HAIA_MONITOR_QUIET_HOURS: '22:30-07:00',
      HAIA_MONITOR_AI_SUMMARY: 'yes',
      LOG_LEVEL: 'DEBUG',
    });
    expect(config.app).toMatchObject({ host: '0.0.0.0', port: 9000, apiKeys: ['k1', 'k2'] });
    expect(config.app.corsOrigins).toEqual(['http://a.lan:3000', '*']);
    expect(config.app.logLevel).toBe('debug');
    expect(config.model.model.modelId).toBe('llama3.1:8b');
    expect(config.model.fallbackModels.map((ref) => ref.id)).toEqual([
      'anthropic:claude-sonnet-4-5',
      'openai:gpt-4o-mini',
    ]);
    expect(config.model.models[0]?.provider).toBe('gemini');
    expect(config.model.providers.gemini.apiKey).toBe('g-key');
    expect(config.store).toMatchObject({ databaseUrl: 'postgres://haia:pw@db:5432/haia', poolMax: 4 });
    expect(config.proxmox).toEqual({
      url: 'https://pve.lan:8006',
      tokenId: 'haia@pve!ro',
      tokenSecret: 'uuid-secret',
      verifyTls: false,
      caFile: join(cwd, 'ca.pem'),
    });
    expect(config.notify.telegram).toEqual({
      botToken: '123:abc',
      chatId: '-100',
      apiUrl: 'https://api.telegram.org',
    });
    expect(config.notify.ntfy).toEqual({ url: 'https://ntfy.sh/homelab', token: undefined });
    expect(config.monitor).toMatchObject({
      vmIntervalMs: 30_000,
      cephIntervalMs: 7_200_000,
      reminderIntervalMs: undefined,
      quietHours: { startMinute: 1350, endMinute: 420 },
      aiSummary: true,
    });
  });

  it('prefers GEMINI_API_KEY over GOOGLE_API_KEY', () => {
    const config = load({ HAIA_MODEL: 'gemini:gemini-2.5-flash', GEMINI_API_KEY: 'a', GOOGLE_API_KEY: 'b' });
    expect(config.model.providers.gemini.apiKey).toBe('a');
  });

  it('finds ./mcp_config.json when MCP_CONFIG is unset', () => {
    writeFileSync(join(cwd, 'mcp_config.json'), '{"mcpServers":{}}');
    expect(load({}).mcp).toEqual({ configPath: join(cwd, 'mcp_config.json'), explicit: false });
  });
});

describe('.env', () => {
  it('is read from cwd and the real environment wins', () => {
    writeFileSync(
      join(cwd, '.env'),
      'PORT=9100\nHAIA_MODEL="openai:gpt-4o"\nOPENAI_API_KEY=from-file\n# comment\n',
    );
    const config = load({ PORT: '9200' });
    expect(config.app.port).toBe(9200);
    expect(config.model.model.id).toBe('openai:gpt-4o');
    expect(config.model.providers.openai.apiKey).toBe('from-file');
  });

  it('gives the merged environment for ${VAR} expansion elsewhere', () => {
    writeFileSync(join(cwd, '.env'), 'GITHUB_TOKEN=from-file\nSHARED=file\nEMPTY=\n');
    expect(readEnvironment({ env: { SHARED: 'real', OTHER: 'x' }, cwd })).toEqual({
      GITHUB_TOKEN: 'from-file',
      SHARED: 'real',
      OTHER: 'x',
    });
  });

  it('reports bad values from the file like any other', () => {
    writeFileSync(join(cwd, '.env'), 'HAIA_MAX_STEPS=zero\n');
    expect(problemsOf({}).problems).toEqual([
      { variable: 'HAIA_MAX_STEPS', value: 'zero', expected: 'a whole number from 1 to 100' },
    ]);
  });
});

describe('errors', () => {
  it('lists every problem at once, in one message', () => {
    const error = problemsOf({
      PORT: 'abc',
      HAIA_MODEL: 'bad',
      HAIA_MONITOR_VM_INTERVAL: '5',
      LOG_LEVEL: 'loud',
    });
    expect(error.problems.map((problem) => problem.variable)).toEqual([
      'PORT',
      'LOG_LEVEL',
      'HAIA_MODEL',
      'HAIA_MONITOR_VM_INTERVAL',
    ]);
    expect(error.message).toContain('4 problems');
    expect(error.message).toContain('PORT="abc": expected a whole number from 0 to 65535');
    expect(error.message).toContain('HAIA_MODEL="bad": expected a model id as provider:model');
    expect(error.message).toContain('LOG_LEVEL="loud": expected one of fatal, error');
    expect(error.code).toBe('config');
    expect(error).toBeInstanceOf(Error);
  });

  it('masks secrets in bad values', () => {
    const error = problemsOf({
      DATABASE_URL: 'mysql://root:hunter2@db/x',
      DISCORD_WEBHOOK_URL: 'ftp://t0ken',
    });
    expect(error.message).not.toContain('hunter2');
    expect(error.message).not.toContain('t0ken');
    expect(error.problems[0]).toMatchObject({ variable: 'DATABASE_URL', value: 'mysql://root:****@db/x' });
  });

  it('refuses a public HOST without HAIA_API_KEYS and says how to fix it', () => {
    const error = problemsOf({ HOST: '0.0.0.0' });
    expect(error.problems[0]?.variable).toBe('HAIA_API_KEYS');
    expect(error.message).toMatch(/HOST=0\.0\.0\.0 is reachable from other machines: set HAIA_API_KEYS=/);
    expect(load({ HOST: '0.0.0.0', HAIA_API_KEYS: 'k' }).app.host).toBe('0.0.0.0');
  });

  it('requires the key of each provider in use, naming the variable', () => {
    const error = problemsOf({
      HAIA_MODEL: 'anthropic:claude-sonnet-4-5',
      HAIA_FALLBACK_MODELS: 'gemini:gemini-2.5-flash,openai:gpt-4o,anthropic:claude-haiku-4-5',
      HAIA_MODELS: 'openai-compatible:qwen3',
    });
    expect(error.problems.map((problem) => problem.variable)).toEqual([
      'ANTHROPIC_API_KEY',
      'GEMINI_API_KEY',
      'OPENAI_API_KEY',
    ]);
    expect(error.message).toContain('GOOGLE_API_KEY also works');
    expect(() => load({ HAIA_MODELS: 'openai:gpt-4o' })).not.toThrow();
  });

  it('requires OPENAI_BASE_URL for openai-compatible models', () => {
    expect(problemsOf({ HAIA_MODEL: 'openai-compatible:qwen3' }).problems[0]?.variable).toBe(
      'OPENAI_BASE_URL',
    );
    expect(
      load({ HAIA_MODEL: 'openai-compatible:qwen3', OPENAI_BASE_URL: 'http://127.0.0.1:1234/v1' }).model.model
        .provider,
    ).toBe('openai-compatible');
  });

  it('requires the Proxmox token with PROXMOX_URL, and a valid token id', () => {
    const error = problemsOf({ PROXMOX_URL: 'https://pve:8006' });
    expect(error.problems.map((problem) => problem.variable)).toEqual([
      'PROXMOX_TOKEN_ID',
      'PROXMOX_TOKEN_SECRET',
    ]);
    expect(error.message).toContain('PVEAuditor');
    expect(problemsOf({ PROXMOX_TOKEN_ID: 'root' }).message).toContain('haia@pve!monitor');
  });

  it('refuses a key or token with a character no HTTP header can carry, without printing it', () => {
    const error = problemsOf({
      PROXMOX_URL: 'https://pve:8006',
      PROXMOX_TOKEN_ID: 'haia@pve!ro',
      PROXMOX_TOKEN_SECRET: 'c0ffee00-1234\u201d',
      OPENAI_API_KEY: 'sk-abc\u00a0def',
    });
    expect(error.problems.map((problem) => problem.variable)).toEqual([
      'OPENAI_API_KEY',
      'PROXMOX_TOKEN_SECRET',
    ]);
    expect(error.message).toContain('character 7 is U+00A0');
    expect(error.message).toContain('character 14 is U+201D');
    expect(error.message).not.toContain('c0ffee00');
    expect(error.message).not.toContain('sk-abc');
    // Spaces around a pasted value are still trimmed, not refused.
    expect(load({ OPENAI_API_KEY: ' sk-ok \n' }).model.providers.openai.apiKey).toBe('sk-ok');
  });

  it('requires an explicit MCP_CONFIG to exist', () => {
    expect(problemsOf({ MCP_CONFIG: 'missing.json' }).message).toContain('does not exist');
  });

  it('requires both Telegram variables', () => {
    expect(problemsOf({ TELEGRAM_BOT_TOKEN: '1:x' }).problems).toEqual([
      expect.objectContaining({ variable: 'TELEGRAM_CHAT_ID' }),
    ]);
  });
});

describe('redactConfig', () => {
  it('masks every secret and keeps the rest', () => {
    const secrets = [
      'sk-ant-SECRET',
      'k-SECRET-1',
      'pw-SECRET',
      'pve-SECRET',
      '99:SECRET',
      'ntfy-SECRET',
      'hook-SECRET',
    ];
    const config = load({
      HAIA_MODEL: 'anthropic:claude-sonnet-4-5',
      ANTHROPIC_API_KEY: secrets[0],
      HAIA_API_KEYS: `${secrets[1]},other`,
      DATABASE_URL: `postgres://haia:${secrets[2]}@db/haia`,
      PROXMOX_URL: 'https://pve:8006',
      PROXMOX_TOKEN_ID: 'a@pve!b',
      PROXMOX_TOKEN_SECRET: secrets[3],
      TELEGRAM_BOT_TOKEN: secrets[4],
      TELEGRAM_CHAT_ID: '1',
      NTFY_URL: 'https://ntfy.sh/t',
      NTFY_TOKEN: secrets[5],
      DISCORD_WEBHOOK_URL: `https://discord.com/api/webhooks/1/${secrets[6]}`,
    });
    const text = JSON.stringify(redactConfig(config));
    for (const secret of secrets) expect(text).not.toContain(secret);
    expect(text).not.toContain('SECRET');
    expect(text).toContain('postgres://haia:****@db/haia');
    expect(text).toContain('"apiKeys":"2 keys"');
    expect(text).toContain('claude-sonnet-4-5');
  });
});

describe('.env.example', () => {
  it('documents exactly the variables the schema reads', () => {
    const example = readFileSync(fileURLToPath(new URL('../../../.env.example', import.meta.url)), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=/gm)].map((match) => match[1]));
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });
});

describe('loadConfig start-up audit', () => {
  it('lists the cross-variable problems together with the bad values, in one error', () => {
    const error = problemsOf({
      PORT: 'abc',
      HOST: '0.0.0.0',
      PROXMOX_URL: 'https://pve:8006',
      MCP_CONFIG: 'missing.json',
    });
    expect(error.problems.map((problem) => problem.variable)).toEqual([
      'PORT',
      'HAIA_API_KEYS',
      'PROXMOX_TOKEN_ID',
      'PROXMOX_TOKEN_SECRET',
      'MCP_CONFIG',
    ]);
  });

  it('refuses an API key with whitespace or an invisible character inside, without printing it', () => {
    const error = problemsOf({ HAIA_API_KEYS: 'key-one-SECRET, key two-SECRET' });
    expect(error.problems).toEqual([expect.objectContaining({ variable: 'HAIA_API_KEYS', value: '****' })]);
    expect(error.message).toContain('key 2');
    expect(error.message).toContain('U+0020');
    expect(error.message).not.toContain('SECRET');
    expect(load({ HAIA_API_KEYS: ' k1 , k2 ' }).app.apiKeys).toEqual(['k1', 'k2']);
  });

  it('takes CORS origins as browsers send them and refuses what no Origin header can match', () => {
    expect(
      load({ HAIA_CORS_ORIGINS: 'https://Chat.Example.com:443/, http://localhost:3000' }).app.corsOrigins,
    ).toEqual(['https://chat.example.com', 'http://localhost:3000']);
    const error = problemsOf({ HAIA_CORS_ORIGINS: 'https://chat.example.com/c/1,chat.example.com' });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain('"https://chat.example.com/c/1" has a path');
    expect(error.message).toContain('"chat.example.com"');
  });

  it('refuses Proxmox or ntfy settings given without the URL they belong to', () => {
    const error = problemsOf({
      PROXMOX_TOKEN_ID: 'haia@pve!ro',
      PROXMOX_TOKEN_SECRET: 'hunter2-x',
      NTFY_TOKEN: 'tk_hunter2',
    });
    expect(error.problems.map((problem) => problem.variable)).toEqual(['PROXMOX_URL', 'NTFY_URL']);
    expect(error.message).toContain('PROXMOX_TOKEN_ID, PROXMOX_TOKEN_SECRET are set');
    expect(error.message).not.toContain('hunter2');
  });

  it('reads OLLAMA_HOST as Ollama does, a bare host:port included', () => {
    expect(load({ OLLAMA_HOST: '0.0.0.0' }).model.providers.ollama.baseURL).toBe('http://0.0.0.0:11434');
    expect(load({ OLLAMA_HOST: 'gpu-box:11500' }).model.providers.ollama.baseURL).toBe(
      'http://gpu-box:11500',
    );
  });

  it('requires the files it is pointed at to exist', () => {
    const error = problemsOf({
      HAIA_SYSTEM_PROMPT_FILE: 'prompt.txt',
      PROXMOX_URL: 'https://pve:8006',
      PROXMOX_TOKEN_ID: 'haia@pve!ro',
      PROXMOX_TOKEN_SECRET: 'x',
      PROXMOX_CA_FILE: 'ca.pem',
    });
    expect(error.problems.map((problem) => problem.variable)).toEqual([
      'HAIA_SYSTEM_PROMPT_FILE',
      'PROXMOX_CA_FILE',
    ]);
    expect(error.message).toContain(`${join(cwd, 'prompt.txt')} does not exist`);
  });

  it('refuses a HAIA_DATA_DIR that is not a usable folder for the embedded database', () => {
    writeFileSync(join(cwd, 'taken'), '');
    const check = (env: Record<string, string>) => {
      try {
        return loadConfig({ env, cwd, checkDataDir: true });
      } catch (error) {
        if (ConfigError.isInstance(error)) return error;
        throw error;
      }
    };
    expect((check({ HAIA_DATA_DIR: 'taken' }) as ConfigError).problems).toEqual([
      expect.objectContaining({ variable: 'HAIA_DATA_DIR', value: 'taken' }),
    ]);
    expect((check({ HAIA_DATA_DIR: 'taken/below' }) as ConfigError).message).toContain('is not a folder');
    // Not used with a PostgreSQL server, nor by a program that does not ask; a folder still to be made is fine.
    expect(
      ConfigError.isInstance(check({ HAIA_DATA_DIR: 'taken', DATABASE_URL: 'postgres://db/haia' })),
    ).toBe(false);
    expect(() => load({ HAIA_DATA_DIR: 'taken' })).not.toThrow();
    expect(ConfigError.isInstance(check({ HAIA_DATA_DIR: 'new/deeper' }))).toBe(false);
  });
});
