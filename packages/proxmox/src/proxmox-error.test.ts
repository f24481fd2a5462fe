import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { rootCertificates } from 'node:tls';
import { inspect } from 'node:util';
import type { ProxmoxFake } from '@haia/testkit';
import {
  hang,
  hangUp,
  json,
  type Reply,
  startFakeServer,
  startProxmoxFake,
  testCertificates,
  text,
} from '@haia/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProxmoxClient, type ProxmoxClient } from './proxmox-client.js';
import { ProxmoxError } from './proxmox-error.js';
import { memoryLogger, startCluster } from './test-support.js';

let fake: ProxmoxFake;
let client: ProxmoxClient;
let stop: () => Promise<void>;
const { logger, lines } = memoryLogger();

beforeAll(async () => {
  ({ fake, client, stop } = await startCluster({ client: { logger } }));
});
afterAll(() => stop());

async function failure(promise: Promise<unknown>): Promise<ProxmoxError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(ProxmoxError.isInstance(error)).toBe(true);
  return error as ProxmoxError;
}

function everything(error: unknown): string {
  return `${String(error)} ${JSON.stringify(error)} ${inspect(error, { depth: 10, showHidden: true })}`;
}

/** A pveproxy-style reply: the text in the reason phrase. */
function reasonReply(status: number, reason: string, body?: string): Reply {
  return (response) => {
    response.writeHead(status, reason, body ? { 'content-type': 'application/json;charset=UTF-8' } : {});
    response.end(body);
  };
}

describe('ProxmoxError from HTTP answers', () => {
  it('401: auth, the reason phrase, PVEAuditor named, the secret nowhere', async () => {
    const wrongSecret = 'aaaaaaaa-1111-2222-3333-bbbbbbbbbbbb';
    const wrong = createProxmoxClient({
      url: fake.url,
      tokenId: fake.tokenId,
      tokenSecret: wrongSecret,
      ca: (await import('@haia/testkit')).testCertificates().ca,
      logger,
    });
    try {
      const error = await failure(wrong.version());
      expect(error).toMatchObject({
        code: 'auth',
        status: 401,
        reason: 'Authentication failed!',
        path: '/version',
      });
      expect(error.message).toContain('Authentication failed!');
      expect(error.message).toContain('PVEAuditor');
      expect(error.message).toContain('PROXMOX_TOKEN_SECRET');
      expect(everything(error)).not.toContain(wrongSecret);
      expect(JSON.stringify(lines)).not.toContain(wrongSecret);
    } finally {
      await wrong.close();
    }
  });

  it('403: permission, with the missing privilege from the status line and the PVEAuditor fix', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.denyPermission('/cluster/status', '/, Sys.Audit');
      const error = await failure(cluster.client.clusterStatus());
      expect(error).toMatchObject({
        code: 'permission',
        status: 403,
        reason: 'Permission check failed (/, Sys.Audit)',
      });
      expect(error.message).toContain('PVEAuditor');
      expect(error.message).toContain(cluster.fake.tokenId);
      // A privilege-separated token gets the intersection of its ACLs and its user's: both need the role.
      expect(error.message).toContain("pveum acl modify / --users 'haia@pve' --roles PVEAuditor");
      expect(error.message).toContain("pveum acl modify / --tokens 'haia@pve!monitor' --roles PVEAuditor");
      expect(everything(error)).not.toContain(cluster.fake.tokenSecret);
    } finally {
      await cluster.stop();
    }
  });

  it('not-found: a missing VM (500 config file), a guest asked on the wrong node, an unknown node, 501', async () => {
    const missing = await failure(client.guestStatus({ node: 'pve1', vmid: 999, type: 'qemu' }));
    expect(missing).toMatchObject({
      code: 'not-found',
      status: 500,
      reason: "Configuration file 'nodes/pve1/qemu-server/999.conf' does not exist",
    });
    const elsewhere = await failure(client.guestStatus({ node: 'pve1', vmid: 102, type: 'qemu' }));
    expect(elsewhere.code).toBe('not-found');
    const node = await failure(client.nodeStatus('pve9'));
    expect(node.code).toBe('not-found');
    expect(node.message).toContain('no node pve9');
    fake.server.enqueue(
      reasonReply(
        501,
        "Method 'GET /version' not implemented",
        '{"data":null,"message":"Method \'GET /version\' not implemented"}',
      ),
    );
    expect(await failure(client.version())).toMatchObject({ code: 'not-found', status: 501 });
  });

  it('not-found: Ceph not installed says so', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.setCephInstalled(false);
      const error = await failure(cluster.client.cephStatus());
      expect(error).toMatchObject({
        code: 'not-found',
        status: 500,
        reason: 'binary not installed: /usr/bin/ceph-mon',
      });
      expect(error.message).toContain('Ceph is not installed');
    } finally {
      await cluster.stop();
    }
  });

  it('node-offline: 595 and 596 from a proxied request', async () => {
    const cluster = await startCluster();
    try {
      cluster.fake.setNodeOffline('pve2');
      const offline = await failure(cluster.client.nodeStatus('pve2'));
      expect(offline).toMatchObject({ code: 'node-offline', status: 595, reason: 'No route to host' });
      expect(offline.message).toContain('pve2');
      cluster.fake.setNodeOffline('pve2', true, { status: 596 });
      expect(await failure(cluster.client.nodeTasks('pve2'))).toMatchObject({
        code: 'node-offline',
        status: 596,
      });
      cluster.fake.setNodeOffline('pve2', false);
      expect((await cluster.client.nodeStatus('pve2')).node).toBe('pve2');
    } finally {
      await cluster.stop();
    }
  });

  it('bad-response: a 400 parameter error carries the per-parameter messages', async () => {
    const error = await failure(client.nodeTasks('pve1', { limit: -1 }));
    expect(error).toMatchObject({
      code: 'bad-response',
      status: 400,
      reason: 'Parameter verification failed.',
      errors: { limit: "type check ('integer') failed - got '-1'" },
    });
    expect(error.message).toContain("limit: type check ('integer') failed - got '-1'");
  });

  it('bad-response: a body that is not JSON, and JSON of the wrong shape', async () => {
    fake.server.enqueue(text('<html>proxy</html>', { contentType: 'text/html' }));
    const html = await failure(client.version());
    expect(html.code).toBe('bad-response');
    expect(html.message).toContain('not JSON');
    fake.server.enqueue(json({ data: [{ vmid: 'abc', type: 'qemu', id: 'qemu/abc' }] }));
    const shape = await failure(client.clusterResources());
    expect(shape.code).toBe('bad-response');
    expect(shape.message).toContain('unexpected shape');
  });

  it('uses the body message when the status line has no reason', async () => {
    fake.server.enqueue(reasonReply(500, '', '{"data":null,"message":"something broke\\n"}'));
    const error = await failure(client.version());
    expect(error).toMatchObject({ code: 'bad-response', status: 500 });
    expect(error.message).toContain('something broke');
  });
});

describe('ProxmoxError when no answer comes', () => {
  /** A client of the fake that gives up after 100 ms. */
  const impatientClient = async () =>
    createProxmoxClient({
      url: fake.url,
      tokenId: fake.tokenId,
      tokenSecret: fake.tokenSecret,
      ca: (await import('@haia/testkit')).testCertificates().ca,
      timeoutMs: 100,
      logger,
    });

  it('timeout: a cluster that never answers within timeoutMs', async () => {
    const slow = await impatientClient();
    try {
      fake.server.enqueue(hang());
      const error = await failure(slow.version());
      expect(error).toMatchObject({ code: 'timeout', path: '/version' });
    } finally {
      await slow.close();
    }
  });

  it('timeout: a node that sends its headers and then stalls the body, within timeoutMs', async () => {
    const slow = await impatientClient();
    try {
      fake.server.enqueue((response) => {
        response.writeHead(200, 'OK', { 'content-type': 'application/json;charset=UTF-8' });
        response.write('{"data":');
      });
      const error = await failure(slow.version());
      expect(error).toMatchObject({ code: 'timeout', path: '/version' });
      expect(error.message).toContain('within 100 ms');
      expect(slow.status().lastError?.code).toBe('timeout');
      await vi.waitFor(() => expect(fake.server.activeRequests()).toBe(0));
    } finally {
      await slow.close();
    }
  });

  it('network: a closed port, and a dropped connection', async () => {
    const gone = await startProxmoxFake();
    const url = gone.url;
    await gone.close();
    const unreachable = createProxmoxClient({ url, tokenId: 'a@pve!b', tokenSecret: 'secret-value-123' });
    try {
      const error = await failure(unreachable.version());
      expect(error.code).toBe('network');
      expect(error.message).toContain('PROXMOX_URL');
      expect(everything(error)).not.toContain('secret-value-123');
    } finally {
      await unreachable.close();
    }
    fake.server.enqueue(hangUp());
    expect((await failure(client.version())).code).toBe('network');
  });

  it('network: plain http to 8006 is redirected to https like pveproxy does; the client does not follow', async () => {
    // pveproxy answers plain http on 8006 with a bare 301 to the same path over https (errors.json).
    const plain = await startFakeServer({ tls: false });
    plain.route('*', /.*/, (request) => (response) => {
      response.writeHead(301, 'Moved Permanently', { location: `${fake.url}${request.path}` });
      response.end();
    });
    const insecure = createProxmoxClient({
      url: plain.url,
      tokenId: fake.tokenId,
      tokenSecret: fake.tokenSecret,
      ca: testCertificates().ca,
    });
    const before = fake.server.requests.length;
    try {
      const error = await failure(insecure.version());
      expect(error).toMatchObject({ code: 'network', status: 301, path: '/version' });
      expect(error.message).toContain('only over https');
      expect(error.message).toContain(`set PROXMOX_URL to ${fake.url}`);
      expect(everything(error)).not.toContain(fake.tokenSecret);
      expect(fake.server.requests.length).toBe(before);
      expect(insecure.status().lastError?.code).toBe('network');
    } finally {
      await insecure.close();
      await plain.close();
    }
  });

  it('network: a reverse proxy that redirects the API to a login page is not followed', async () => {
    fake.server.enqueue((response) => {
      response.writeHead(302, 'Found', { location: 'https://sso.lan/login?rd=secret-query' });
      response.end();
    });
    const error = await failure(client.version());
    expect(error).toMatchObject({ code: 'network', status: 302 });
    expect(error.message).toContain('to https://sso.lan/login, which the client does not follow');
    expect(error.message).not.toContain('secret-query');
  });

  it('the caller aborting rejects with its own reason, not a ProxmoxError', async () => {
    const controller = new AbortController();
    fake.server.enqueue(hang());
    const pending = client.version({ signal: controller.signal });
    await vi.waitFor(() => expect(fake.server.activeRequests()).toBe(1));
    const reason = new Error('user went away');
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await vi.waitFor(() => expect(fake.server.activeRequests()).toBe(0));
  });
});

describe('TLS', () => {
  it('trusts the cluster through `ca` (the testkit CA)', async () => {
    expect((await client.version()).version).toBe('9.1.4');
  });

  it('tls: without the CA, the message names PROXMOX_CA_FILE and PROXMOX_VERIFY_TLS=false', async () => {
    const untrusting = createProxmoxClient({
      url: fake.url,
      tokenId: fake.tokenId,
      tokenSecret: fake.tokenSecret,
    });
    try {
      const error = await failure(untrusting.version());
      expect(error.code).toBe('tls');
      expect(error.message).toContain('PROXMOX_CA_FILE');
      expect(error.message).toContain('PROXMOX_VERIFY_TLS=false');
      expect(everything(error)).not.toContain(fake.tokenSecret);
    } finally {
      await untrusting.close();
    }
  });

  it('tls: with a wrong CA', async () => {
    const wrongCa = createProxmoxClient({
      url: fake.url,
      tokenId: fake.tokenId,
      tokenSecret: fake.tokenSecret,
      ca: rootCertificates[0]!,
    });
    try {
      const error = await failure(wrongCa.version());
      expect(error.code).toBe('tls');
      expect(error.message).toContain('PROXMOX_CA_FILE');
    } finally {
      await wrongCa.close();
    }
  });

  it('tls: a trusted certificate made out for other names says to use a name it lists, not to add the CA', async () => {
    // A node certificate for pve1.example / 192.0.2.11, trusted through `ca`, reached as 127.0.0.1.
    const cert = readFileSync(new URL('../test-fixtures/other-host.crt', import.meta.url), 'utf8');
    const key = readFileSync(new URL('../test-fixtures/other-host.key', import.meta.url), 'utf8');
    const server = createHttpsServer({ cert, key }, (_request, response) => {
      response.writeHead(200, 'OK', { 'content-type': 'application/json;charset=UTF-8' });
      response.end('{"data":{"version":"9.1.4","release":"9.1","repoid":"5ac30304"}}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const misnamed = createProxmoxClient({
      url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
      tokenId: fake.tokenId,
      tokenSecret: fake.tokenSecret,
      ca: cert,
    });
    try {
      const error = await failure(misnamed.version());
      expect(error.code).toBe('tls');
      expect(error.message).toContain("is not in the cert's list: 192.0.2.11");
      expect(error.message).toContain('Put a name or IP the certificate lists in PROXMOX_URL');
      expect(error.message).not.toContain('set PROXMOX_CA_FILE');
      expect(everything(error)).not.toContain(fake.tokenSecret);
    } finally {
      await misnamed.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.each([
    ['http://192.0.2.10:8006', 1],
    ['http://127.0.0.1:8006', 0],
    ['http://localhost:8080/pve', 0],
    ['https://192.0.2.10:8006', 0],
  ])('warns once when %s sends the token unencrypted to another host (%i)', async (url, expected) => {
    const memory = memoryLogger();
    const client = createProxmoxClient({
      url,
      tokenId: fake.tokenId,
      tokenSecret: fake.tokenSecret,
      logger: memory.logger,
    });
    const warnings = memory.lines.filter((line) => line.level === 'warn');
    expect(warnings).toHaveLength(expected);
    for (const warning of warnings) expect(warning.message).toContain('unencrypted');
    expect(JSON.stringify(memory.lines)).not.toContain(fake.tokenSecret);
    await client.close();
  });

  it('verifyTls false skips the check and warns once', async () => {
    const memory = memoryLogger();
    const insecure = createProxmoxClient({
      url: fake.url,
      tokenId: fake.tokenId,
      tokenSecret: fake.tokenSecret,
      verifyTls: false,
      logger: memory.logger,
    });
    try {
      expect((await insecure.version()).version).toBe('9.1.4');
      await insecure.nodes();
      const warnings = memory.lines.filter((line) => line.level === 'warn');
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.message).toContain('PROXMOX_VERIFY_TLS=false');
      expect(warnings[0]?.object).toMatchObject({ component: 'proxmox' });
      expect(JSON.stringify(memory.lines)).not.toContain(fake.tokenSecret);
    } finally {
      await insecure.close();
    }
  });
});
