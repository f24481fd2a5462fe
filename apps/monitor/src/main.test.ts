import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type NtfyFake,
  type ProxmoxFake,
  startBins,
  startNtfyFake,
  startOpenAIFake,
  startProxmoxFake,
  startTelegramFake,
  type TelegramFake,
  testCertificates,
} from '@haia/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TOKEN = '9:SECRET-bin-token';
const bins = startBins();
let cwd: string;
let telegram: TelegramFake;
let ntfy: NtfyFake;
let proxmox: ProxmoxFake;

beforeEach(async () => {
  cwd = mkdtempSync(join(tmpdir(), 'haia-monitor-bin-'));
  [telegram, ntfy, proxmox] = await Promise.all([
    startTelegramFake({ token: TOKEN, chats: ['5'] }),
    startNtfyFake(),
    startProxmoxFake(),
  ]);
});
afterEach(async () => {
  bins.killAll();
  await Promise.all([telegram.close(), ntfy.close(), proxmox.close()]);
  rmSync(cwd, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>) {
  return bins.start(bin, { cwd, env, args });
}

/**
 * Polls until `condition` holds. The bin starts a PGlite and a cluster watch, which on a busy machine
 * (other test files starting their own PGlite beside it) takes well over 10 s: wait up to a minute.
 */
async function waitFor(condition: () => boolean) {
  for (let attempt = 0; attempt < 2400 && !condition(); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The bin tests' time limit: above {@link waitFor}'s minute. */
const BIN_TIMEOUT_MS = 90_000;

const channels = () => ({
  TELEGRAM_BOT_TOKEN: TOKEN,
  TELEGRAM_CHAT_ID: '5',
  TELEGRAM_API_URL: telegram.url,
  NTFY_URL: `${ntfy.url}/homelab`,
});

describe('haia-monitor bin', () => {
  it('--test-notify sends one message to each channel and exits 0', async () => {
    const app = run(['--test-notify'], channels());
    expect(await app.exited).toBe(0);
    expect(telegram.messages).toHaveLength(1);
    expect(ntfy.messages.map((message) => message.title)).toEqual(['HAIA monitor test']);
    expect(app.output()).toMatch(/ok +telegram/);
    expect(app.output()).not.toContain('SECRET');
  });

  it('--test-notify exits 1 and names the variable when a channel refuses', async () => {
    const app = run(['--test-notify'], { ...channels(), TELEGRAM_CHAT_ID: '404' });
    expect(await app.exited).toBe(1);
    expect(app.output()).toMatch(/FAILED telegram: .*TELEGRAM_CHAT_ID/);
    expect(app.output()).not.toContain('SECRET');
  });

  it('refuses to start without a cluster, and lists bad values', async () => {
    const missing = run([], channels());
    expect(await missing.exited).toBe(1);
    expect(missing.output()).toContain('set PROXMOX_URL');
    const bad = run([], { ...channels(), HAIA_MONITOR_VM_INTERVAL: '5', HAIA_MONITOR_QUIET_HOURS: 'night' });
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('HAIA_MONITOR_VM_INTERVAL="5"');
    expect(bad.output()).toContain('HAIA_MONITOR_QUIET_HOURS="night"');
  });

  it('runs against the cluster, serves /health and /metrics, and stops on SIGTERM', {
    timeout: BIN_TIMEOUT_MS,
  }, async () => {
    const app = run([], {
      ...channels(),
      PROXMOX_URL: proxmox.url,
      PROXMOX_TOKEN_ID: proxmox.tokenId,
      PROXMOX_TOKEN_SECRET: proxmox.tokenSecret,
      PROXMOX_CA_FILE: testCertificates().caFile,
      HAIA_MONITOR_PORT: '0',
      HAIA_DATA_DIR: join(cwd, 'data'),
    });
    await waitFor(() => app.output().includes('haia-monitor running'));
    const line = app
      .output()
      .split('\n')
      .find((entry) => entry.includes('haia-monitor running'));
    const { url } = JSON.parse(line ?? '{}') as { url: string };
    expect(await (await fetch(`${url}/health`)).json()).toMatchObject({ status: 'ok' });
    await waitFor(() => app.output().includes('"check":"guests","outcome":"ok"'));
    expect(await (await fetch(`${url}/metrics`)).text()).toContain(
      'haia_monitor_checks_total{check="guests",outcome="ok"} 1',
    );
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('"msg":"stopped"');
    expect(app.output()).not.toContain(proxmox.tokenSecret);
  });

  it('adds the AI note from HAIA_MODEL to a firing alert (second-scale intervals)', {
    timeout: BIN_TIMEOUT_MS,
  }, async () => {
    const model = await startOpenAIFake({ apiKeys: ['sk-SECRET-model'] });
    model.setReply(() => ({
      text: 'VM 101 was shut down from inside the guest. Start it with qm start 101.',
    }));
    proxmox.setCephHealth('HEALTH_OK');
    try {
      const app = run([], {
        ...channels(),
        PROXMOX_URL: proxmox.url,
        PROXMOX_TOKEN_ID: proxmox.tokenId,
        PROXMOX_TOKEN_SECRET: proxmox.tokenSecret,
        PROXMOX_CA_FILE: testCertificates().caFile,
        HAIA_MONITOR_PORT: '0',
        HAIA_DATA_DIR: join(cwd, 'data'),
        HAIA_MONITOR_VM_INTERVAL: '1s',
        HAIA_MONITOR_FAILURE_THRESHOLD: '1',
        HAIA_MONITOR_AI_SUMMARY: 'true',
        HAIA_MODEL: 'openai-compatible:fake-model',
        OPENAI_BASE_URL: model.baseURL,
        OPENAI_API_KEY: 'sk-SECRET-model',
      });
      await waitFor(() => app.output().includes('"check":"guests","outcome":"ok"'));
      proxmox.stopGuest(101);
      await waitFor(() => telegram.messages.length > 0);
      expect(telegram.messages[0]?.text).toContain('VM 101 (docker-host) stopped');
      expect(telegram.messages[0]?.text).toContain('Start it with qm start 101.');
      expect(model.requests[0]?.body.messages.at(-1)?.content).toContain('VM 101 (docker-host) stopped');
      app.child.kill('SIGTERM');
      expect(await app.exited).toBe(0);
      expect(app.output()).not.toContain('SECRET');
    } finally {
      await model.close();
    }
  });
});
