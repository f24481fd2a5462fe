#!/usr/bin/env node
// The haia-proxmox-mcp bin: a stable file for package managers to link; the server is built to dist/.
import '../dist/mcp/main.js';
