import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postWithUndici } from './undici-post.js';

type Handler = (request: IncomingMessage, response: ServerResponse, body: string) => void;

const servers: Server[] = [];

/** A real HTTP server on 127.0.0.1 answering with `handler`; stopped after each test. */
async function serve(handler: Handler): Promise<string> {
  const server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (part: string) => {
      body += part;
    });
    request.on('end', () => handler(request, response, body));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions?x=1`;
}

/** A server that sends one event and keeps the response open; `serverSawClose` settles when it closes. */
async function openStream(): Promise<{ url: string; serverSawClose: Promise<void> }> {
  let closed!: () => void;
  const serverSawClose = new Promise<void>((resolve) => {
    closed = resolve;
  });
  const url = await serve((_request, response) => {
    response.on('close', closed);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write('data: {}\n\n');
  });
  return { url, serverSawClose };
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

const json = { 'content-type': 'application/json' };
const post = (url: string, signal = new AbortController().signal, body = '{"a":1}') =>
  postWithUndici(url, json, body, signal, { headersComeLate: false });

describe('postWithUndici', () => {
  it('sends the path, query, headers and body, and reads the status, headers and whole body', async () => {
    let seen: { url?: string; type?: string; body?: string } = {};
    const url = await serve((request, response, body) => {
      seen = { url: request.url, type: request.headers['content-type'], body };
      response.setHeader('set-cookie', ['a=1', 'b=2']);
      response.writeHead(429, { 'retry-after': '3', 'content-type': 'application/json' });
      response.end('{"error":{"message":"slow down"}}');
    });
    const response = await post(url);
    expect(seen).toEqual({ url: '/v1/chat/completions?x=1', type: 'application/json', body: '{"a":1}' });
    expect(response.status).toBe(429);
    expect(response.headers.get('Retry-After')).toBe('3');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(response.headers.get('x-missing')).toBeNull();
    expect(await response.text()).toBe('{"error":{"message":"slow down"}}');
  });

  it('reads a body piece by piece, with a character split across two pieces kept whole', async () => {
    const euro = Buffer.from('€', 'utf8');
    const url = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(Buffer.concat([Buffer.from('data: '), euro.subarray(0, 1)]));
      setTimeout(() => {
        response.write(Buffer.concat([euro.subarray(1), Buffer.from('\n\n')]));
        response.end('data: [DONE]\n\n');
      }, 20);
    });
    const response = await post(url);
    let text = '';
    for (let piece = await response.read(); piece !== undefined; piece = await response.read()) text += piece;
    expect(text).toBe('data: €\n\ndata: [DONE]\n\n');
    expect(await response.read()).toBeUndefined();
  });

  it('rejects a pending read with the reason when the caller aborts mid-body, and frees the connection', async () => {
    const { url, serverSawClose } = await openStream();
    const controller = new AbortController();
    const response = await post(url, controller.signal);
    expect(await response.read()).toBe('data: {}\n\n');
    const reading = response.read();
    const reason = new Error('the client went away');
    controller.abort(reason);
    await expect(reading).rejects.toBe(reason);
    await serverSawClose;
  });

  it('rejects before any request when the signal is already aborted', async () => {
    let requests = 0;
    const url = await serve((_request, response) => {
      requests++;
      response.end('{}');
    });
    const controller = new AbortController();
    controller.abort();
    await expect(post(url, controller.signal)).rejects.toMatchObject({ name: 'AbortError' });
    expect(requests).toBe(0);
  });

  it('closes the connection when the body is closed before its end', async () => {
    const { url, serverSawClose } = await openStream();
    const response = await post(url);
    expect(await response.read()).toBe('data: {}\n\n');
    response.close();
    await serverSawClose;
  });

  it('rejects with the connection error when nothing listens', async () => {
    const url = await serve((_request, response) => response.end());
    const server = servers.pop() as Server;
    await new Promise((resolve) => server.close(resolve));
    await expect(post(url)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});
