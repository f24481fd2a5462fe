import { request as httpsRequest } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeServer, startFakeServer } from './fake-server.js';
import { abruptClose, chunks, empty, hang, hangUp, json, ndjson, sse, text } from './replies.js';
import { testCertificates } from './tls.js';

const servers: FakeServer[] = [];
async function start(...args: Parameters<typeof startFakeServer>) {
  const server = await startFakeServer(...args);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function readAll(response: Response): Promise<string[]> {
  const parts: string[] = [];
  const decoder = new TextDecoder();
  for await (const part of response.body as unknown as AsyncIterable<Uint8Array>)
    parts.push(decoder.decode(part));
  return parts;
}

describe('startFakeServer', () => {
  it('listens on 127.0.0.1 on a free port and records requests with their bodies', async () => {
    const server = await start();
    server.respond('POST', '/v1/echo', json({ ok: true }, { status: 201, headers: { 'x-fake': 'yes' } }));
    const response = await fetch(`${server.url}/v1/echo?a=1`, {
      method: 'POST',
      headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
      body: JSON.stringify({ hello: 'world' }),
    });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(response.status).toBe(201);
    expect(response.headers.get('x-fake')).toBe('yes');
    expect(await response.json()).toEqual({ ok: true });
    const [recorded] = server.requests;
    expect(recorded?.method).toBe('POST');
    expect(recorded?.path).toBe('/v1/echo');
    expect(recorded?.query.get('a')).toBe('1');
    expect(recorded?.headers.authorization).toBe('Bearer k');
    expect(recorded?.json()).toEqual({ hello: 'world' });
  });

  it('answers 404 JSON for an unknown route and lets handlers fall through', async () => {
    const server = await start();
    server.route('GET', /^\/items\/\d+$/, (request) =>
      request.path.endsWith('/7') ? text('seven') : undefined,
    );
    expect(await (await fetch(`${server.url}/items/7`)).text()).toBe('seven');
    const missing = await fetch(`${server.url}/items/8`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { message: expect.any(String) } });
  });

  it('serves queued replies first, in order, then the routes', async () => {
    const server = await start();
    server.respond('GET', '/x', text('route'));
    server.enqueue(empty(503));
    server.enqueue(text('second'), { path: '/x' });
    expect((await fetch(`${server.url}/x`)).status).toBe(503);
    expect(await (await fetch(`${server.url}/x`)).text()).toBe('second');
    expect(await (await fetch(`${server.url}/x`)).text()).toBe('route');
    server.reset();
    expect(server.requests).toHaveLength(0);
  });

  it('streams SSE events with event lines, multi-line data and delays', async () => {
    const server = await start();
    server.respond(
      'GET',
      '/sse',
      sse([{ event: 'message_start', data: { a: 1 } }, { data: 'line1\nline2' }, { data: '[DONE]' }], {
        delayMs: 5,
      }),
    );
    const response = await fetch(`${server.url}/sse`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const body = (await readAll(response)).join('');
    expect(body).toBe('event: message_start\ndata: {"a":1}\n\ndata: line1\ndata: line2\n\ndata: [DONE]\n\n');
  });

  it('delivers chunks separately when they are spaced out', async () => {
    const server = await start();
    server.respond('GET', '/slow', chunks(['a', 'b', 'c'], { delayMs: 30 }));
    const parts = await readAll(await fetch(`${server.url}/slow`));
    expect(parts.join('')).toBe('abc');
    expect(parts.length).toBe(3);
  });

  it('streams NDJSON lines', async () => {
    const server = await start();
    server.respond('POST', '/api/chat', ndjson([{ done: false }, { done: true }]));
    const response = await fetch(`${server.url}/api/chat`, { method: 'POST', body: '{}' });
    expect(response.headers.get('content-type')).toBe('application/x-ndjson');
    expect(await response.text()).toBe('{"done":false}\n{"done":true}\n');
  });

  it('closes a stream abruptly after some chunks', async () => {
    const server = await start();
    server.respond('GET', '/cut', abruptClose(['data: {"partial":true}\n\n']));
    const response = await fetch(`${server.url}/cut`);
    await expect(readAll(response)).rejects.toThrow();
  });

  it('hangs up before answering', async () => {
    const server = await start();
    server.respond('GET', '/down', hangUp());
    await expect(fetch(`${server.url}/down`)).rejects.toThrow(/fetch failed/);
  });

  it('closes hung requests and every connection on close, and close is idempotent', async () => {
    const server = await start();
    server.respond('GET', '/hang', hang());
    const pending = fetch(`${server.url}/hang`).catch((error: Error) => error);
    await waitFor(() => server.requests.length === 1);
    expect(server.openConnections()).toBe(1);
    await server.close();
    await server.close();
    expect(await pending).toBeInstanceOf(Error);
    expect(server.openConnections()).toBe(0);
    await expect(fetch(`${server.url}/hang`)).rejects.toThrow();
  });

  it('notices when the client goes away', async () => {
    const server = await start();
    server.respond('GET', '/hang', hang());
    const controller = new AbortController();
    const pending = fetch(`${server.url}/hang`, { signal: controller.signal }).catch(() => 'aborted');
    await waitFor(() => server.requests.length === 1);
    expect(server.activeRequests()).toBe(1);
    controller.abort();
    expect(await pending).toBe('aborted');
    await waitFor(() => server.activeRequests() === 0);
  });

  it('serves https with a certificate the testkit CA signed', async () => {
    const server = await start({ tls: true });
    server.respond('GET', '/secure', json({ tls: true }));
    expect(server.url).toMatch(/^https:/);
    const body = await new Promise<string>((resolve, reject) => {
      const request = httpsRequest(`${server.url}/secure`, { ca: testCertificates().ca }, (response) => {
        let data = '';
        response.on('data', (part) => {
          data += part;
        });
        response.on('end', () => resolve(data));
      });
      request.on('error', reject);
      request.end();
    });
    expect(JSON.parse(body)).toEqual({ tls: true });
    await expect(fetch(`${server.url}/secure`)).rejects.toThrow();
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not met');
}
