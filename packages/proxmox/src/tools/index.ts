/**
 * @module @haia/proxmox/tools
 * The `proxmox` toolset for `@haia/agent`: seven read-only tools over a {@link ProxmoxClient}.
 */
import { createToolset, type Toolset } from '@haia/agent';
import type { ProxmoxClient } from '../proxmox-client.js';
import { createProxmoxTools } from './proxmox-tools.js';

export { formatBytes, formatDuration, formatPercent, formatTime } from './format.js';
export { createProxmoxTools } from './proxmox-tools.js';

/** The tool names the model sees, in the order the toolset lists them. */
export const PROXMOX_TOOL_NAMES = [
  'list_vms',
  'get_vm_status',
  'get_cluster_resources',
  'get_node_status',
  'get_storage',
  'get_ceph_status',
  'list_tasks',
] as const;

/**
 * The toolset named `proxmox`, every tool annotated `readOnly: true`.
 *
 * @example
 * const proxmox = createProxmoxClient({ url, tokenId, tokenSecret, ca });
 * const agent = createAgent({ model, toolsets: [createProxmoxToolset(proxmox)] });
 */
export function createProxmoxToolset(client: ProxmoxClient): Toolset {
  return createToolset('proxmox', createProxmoxTools(client));
}
