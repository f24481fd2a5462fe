import { request as httpRequest } from 'node:http';
import { MockLanguageModel } from '@haia/llm/test';
import type { Store } from '@haia/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, sseData, testStore } from '../test/helpers.js';
import type { ApiServer } from './server.js';

// The paths HAIA takes over a real socket (srvx under @elysiajs/node), which `app.handle()` does
// not reach: the body read straight from the Node request, string bodies written with their
// content-length, and SSE frames piped from a Node stream.

let store: Store;
beforeAll(async () => {
  store = await testStore();
});
afterAll(async () => {
  await store.close();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** POSTs `parts` one write at a time (no content-length: chunked) and reads the whole answer. */
function post(url: string, parts: string[]): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const target = new URL(`${url}/v1/chat/completions`);
    const outgoing = httpRequest(
      target,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (incoming) => {
        let body = '';
        incoming.setEncoding('utf8');
        incoming.on('data', (part: string) => {
          body += part;
        });
        incoming.on('end', () =>
          resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body }),
        );
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    for (const part of parts) outgoing.write(part);
    outgoing.end();
  });
}

async function withServer(
  options: { text: string; bodyLimitBytes?: number },
  work: (url: string, server: ApiServer, model: MockLanguageModel) => Promise<void>,
): Promise<void> {
  const model = new MockLanguageModel({ results: { text: options.text } });
  const server = buildServer({
    model,
    store,
    ...(options.bodyLimitBytes ? { bodyLimitBytes: options.bodyLimitBytes } : {}),
  });
  const url = await server.listen();
  try {
    await work(url, server, model);
  } finally {
    await server.stop();
  }
}

describe('over a real socket', () => {
  it('reads a body sent in pieces and answers JSON with its content-length', async () => {
    await withServer({ text: 'pieces joined' }, async (url, _server, model) => {
      const body = JSON.stringify({ model: 'haia', messages: [{ role: 'user', content: 'é'.repeat(300) }] });
      const answer = await post(url, [body.slice(0, 7), body.slice(7, 200), body.slice(200)]);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('application/json');
      expect(answer.headers['content-length']).toBe(String(Buffer.byteLength(answer.body)));
      expect(JSON.parse(answer.body).choices[0].message.content).toBe('pieces joined');
      // The multi-byte characters split across writes arrive whole.
      const sent = model.calls[0]?.messages.at(-1);
      expect(sent).toEqual({ role: 'user', content: 'é'.repeat(300) });
    });
  });

  it('refuses a chunked body over the limit with 413 and never calls the model', async () => {
    await withServer({ text: 'x', bodyLimitBytes: 1000 }, async (url, _server, model) => {
      const answer = await post(url, ['{"model":"haia","messages":[', 'y'.repeat(600), 'z'.repeat(600)]);
      expect(answer.status).toBe(413);
      expect(JSON.parse(answer.body).error.code).toBe('request_too_large');
      expect(model.calls).toHaveLength(0);
    });
  });

  it('streams SSE frames through the socket, ending with [DONE]', async () => {
    await withServer({ text: 'streamed over the socket' }, async (url) => {
      const body = JSON.stringify({
        model: 'haia',
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'stream please' }],
      });
      const answer = await post(url, [body]);
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toBe('text/event-stream; charset=utf-8');
      const events = sseData(answer.body) as Array<{ choices?: Array<{ delta?: { content?: string } }> }>;
      expect(events.at(-1)).toBe('[DONE]');
      const text = events.map((event) => event.choices?.[0]?.delta?.content ?? '').join('');
      expect(text).toBe('streamed over the socket');
    });
  });
});
