import { MockLanguageModel } from '@haia/llm/test';
import { createProxmoxClient } from '@haia/proxmox';
import { createProxmoxToolset } from '@haia/proxmox/tools';
import { type ProxmoxFake, startProxmoxFake, testCertificates } from '@haia/testkit';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAlertSummarizer } from './ai-summary.js';

let proxmox: ProxmoxFake;
beforeEach(async () => {
  proxmox = await startProxmoxFake();
});
afterEach(() => proxmox.close());

describe('createAlertSummarizer', () => {
  it('lets the model look at the cluster with the Proxmox tools and returns its note', async () => {
    const client = createProxmoxClient({
      url: proxmox.url,
      tokenId: proxmox.tokenId,
      tokenSecret: proxmox.tokenSecret,
      ca: testCertificates().ca,
    });
    proxmox.stopGuest(101);
    const model = new MockLanguageModel({
      results: [
        { toolCalls: [{ toolName: 'get_vm_status', input: { vmid: 101 } }] },
        {
          text: 'VM 101 was stopped cleanly, probably from inside the guest. Start it with `qm start 101` on pve1.',
        },
      ],
    });
    const summarize = createAlertSummarizer({
      model,
      toolsets: [createProxmoxToolset(client)],
      logger: pino({ level: 'silent' }),
    });
    const note = await summarize(
      {
        title: 'VM 101 (docker-host) stopped',
        body: 'It was running.',
        severity: 'warning',
        state: 'firing',
        fields: [{ name: 'Node', value: 'pve1' }],
      },
      new AbortController().signal,
    );
    expect(note).toContain('qm start 101');
    const [first, second] = model.calls;
    expect(first?.messages.at(-1)).toMatchObject({
      role: 'user',
      content: expect.stringContaining('Node: pve1'),
    });
    expect(JSON.stringify(second?.messages)).toContain('stopped');
    await client.close();
  });
});
