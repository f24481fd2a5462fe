import { createServer } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { testCertificates } from '@haia/testkit';
import { describe, expect, it } from 'vitest';
import { proxmoxBaseUrl } from './base-url.js';
import { createProxmoxClient } from './proxmox-client.js';
import { startCluster } from './test-support.js';

describe('the base URL a client takes from PROXMOX_URL', () => {
  it('keeps a reverse proxy path prefix and drops trailing slashes, /api2/json, the UI fragment and credentials', async () => {
    const cases: Array<[string, string]> = [
      ['https://pve1:8006', 'https://pve1:8006'],
      ['https://pve1:8006/', 'https://pve1:8006'],
      ['https://pve1:8006/api2/json/', 'https://pve1:8006'],
      ['https://pve1:8006/#v1:0:=qemu%2F100:4:::::::', 'https://pve1:8006'],
      ['https://proxy.lan/pve/', 'https://proxy.lan/pve'],
      [' https://me:pw@proxy.lan/pve/api2/json?x=1 ', 'https://proxy.lan/pve'],
    ];
    for (const [url, base] of cases) {
      expect(proxmoxBaseUrl(url)).toBe(base);
      const client = createProxmoxClient({ url, tokenId: 'haia@pve!monitor', tokenSecret: 'unused' });
      expect(client.url).toBe(base);
      await client.close();
    }
  });
});

describe('createProxmoxClient behind a reverse proxy with a path prefix', () => {
  it('sends its requests under the prefix', async () => {
    const cluster = await startCluster();
    const upstream = new URL(cluster.fake.url);
    const seen: string[] = [];
    // A plain-http proxy on 127.0.0.1 that serves Proxmox under /pve, as nginx or Traefik would.
    const proxy = createServer((request, response) => {
      seen.push(request.url ?? '');
      if (!request.url?.startsWith('/pve/')) {
        response.writeHead(404, 'Not Found').end();
        return;
      }
      const forwarded = httpsRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: request.url.slice('/pve'.length),
          method: request.method,
          headers: request.headers,
          ca: testCertificates().ca,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.statusMessage, answer.headers);
          answer.pipe(response);
        },
      );
      request.pipe(forwarded);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/pve/`;
    const client = createProxmoxClient({
      url,
      tokenId: cluster.fake.tokenId,
      tokenSecret: cluster.fake.tokenSecret,
    });
    try {
      expect(client.url).toBe(url.slice(0, -1));
      expect((await client.version()).version).toBe('9.1.4');
      expect((await client.clusterResources({ type: 'vm' })).guests).toHaveLength(5);
      expect(seen).toEqual(['/pve/api2/json/version', '/pve/api2/json/cluster/resources?type=vm']);
    } finally {
      await client.close();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await cluster.stop();
    }
  });
});
