/**
 * @module @haia/proxmox
 * A read-only Proxmox VE API client: token auth, typed and normalised responses, and errors that say
 * what to fix. The agent tools live in `@haia/proxmox/tools`; the MCP server is the `haia-proxmox-mcp` bin.
 */
export { checkProxmox, type ProxmoxHealth } from './check-proxmox.js';
export { noopProxmoxLogger, type ProxmoxLogger } from './logger.js';
export {
  type CallOptions,
  createProxmoxClient,
  type FailedTasks,
  type NodeTasksOptions,
  type ProxmoxClient,
  type ProxmoxClientOptions,
  type ProxmoxClientStatus,
} from './proxmox-client.js';
export { ProxmoxError, type ProxmoxErrorCode, type ProxmoxErrorOptions } from './proxmox-error.js';
export { isTaskFailed, taskWarnings } from './tasks.js';
export type {
  CephHealthCheck,
  CephStatus,
  ClusterNode,
  ClusterResources,
  ClusterStatus,
  Guest,
  GuestPressure,
  GuestStatus,
  GuestType,
  NodeMemory,
  NodeResource,
  NodeStatus,
  NodeStorage,
  ProxmoxVersion,
  StorageResource,
  Task,
  TaskPage,
} from './types.js';
