import { createProxmoxClient } from '@haia/proxmox';
import { createStore } from '@haia/store';
import { repeatedKeys } from '@haia/testkit';
import { describe, expect, it } from 'vitest';
import { memoryLogger } from './helpers.js';

// A logger handed to a library that binds the library's own key already, as `logger.child({
// component: 'proxmox' })` passed to the Proxmox client did: pino would write `component` twice.
describe("a library's component over a pino child that binds it already", () => {
  it('the Proxmox client writes it once', async () => {
    const logs = memoryLogger();
    const client = createProxmoxClient({
      url: 'https://127.0.0.1:1',
      tokenId: 'haia@pve!test',
      tokenSecret: 'secret',
      verifyTls: false,
      logger: logs.logger.child({ component: 'proxmox' }),
    });
    await client.close();
    const raw = logs.raw().trim().split('\n');
    expect(raw).toHaveLength(1);
    expect(repeatedKeys(raw[0] ?? ''), raw[0]).toEqual([]);
    expect(logs.lines[0]).toMatchObject({ component: 'proxmox', msg: expect.stringContaining('VERIFY_TLS') });
  });

  it('the store writes it once', async () => {
    const logs = memoryLogger('debug');
    const store = await createStore({
      dataDir: 'memory://',
      logger: logs.logger.child({ component: 'store' }),
    });
    await store.close();
    // Its migrations' lines, then `store ready`.
    for (const line of logs.raw().trim().split('\n')) expect(repeatedKeys(line), line).toEqual([]);
    expect(logs.lines.map((line) => line.component)).toEqual(logs.lines.map(() => 'store'));
    expect(logs.lines.at(-1)).toMatchObject({ msg: 'store ready' });
  });
});
