/**
 * @module @haia/proxmox/mcp
 * The Proxmox tools as an MCP server, for embedding; the `haia-proxmox-mcp` bin runs it standalone.
 */
export { createProxmoxMcpServer, type ProxmoxMcpServerOptions } from './proxmox-mcp-server.js';
