import { describe, expect, it } from 'vitest';
import { homelabInstructions } from './homelab-instructions.js';

const now = new Date('2026-12-01T06:40:00Z');

describe('homelabInstructions', () => {
  it('states the role, the time, what is connected, the safety rules and the answer style', () => {
    const prompt = homelabInstructions({
      now,
      connected: { proxmox: 'pve.lan:8006', mcpServers: ['files', 'grafana'] },
      tools: [{ name: 'list_vms' }, { name: 'get_ceph_status' }, { name: 'files__read_file' }],
    });
    expect(prompt).toContain('You are HAIA, a homelab assistant');
    expect(prompt).toContain(
      'Current date and time: Tuesday, 1 December 2026 at 06:40 UTC (2026-12-01T06:40:00.000Z).',
    );
    expect(prompt).toContain('- Proxmox VE: connected (pve.lan:8006).');
    expect(prompt).toContain('- MCP servers: files, grafana.');
    expect(prompt).toContain('- Tools you can call: list_vms, get_ceph_status, files__read_file.');
    expect(prompt).toContain('you never claim or imply that you did');
    expect(prompt).toContain('When a tool fails');
    expect(prompt).toContain('say that you do not know');
    expect(prompt).toContain('numbers with their units');
  });

  it('says when nothing is connected', () => {
    const prompt = homelabInstructions({ now });
    expect(prompt).toContain('- Proxmox VE: not connected');
    expect(prompt).toContain('- MCP servers: none.');
    expect(prompt).toContain('- Tools you can call: none');
  });

  it('uses the given time zone, falling back to UTC for an unknown one', () => {
    expect(homelabInstructions({ now, timeZone: 'Europe/Berlin' })).toContain('07:40 CET');
    expect(homelabInstructions({ now, timeZone: 'Mars/Olympus' })).toContain('06:40 UTC');
  });

  it('speaks of approvals once write tools exist', () => {
    expect(homelabInstructions({ now, readOnly: false })).toContain('need the user’s approval');
  });

  it('counts the tools beyond the listed ones', () => {
    const tools = Array.from({ length: 65 }, (_, index) => ({ name: `t${index}` }));
    expect(homelabInstructions({ now, tools })).toContain('t59 and 5 more.');
  });
});
