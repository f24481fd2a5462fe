import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatEvent } from '../chat-event.js';
import { createModel } from '../create-model.js';
import { failure } from './adapter-test-helpers.js';

// The wire details of HAIA's own Chat Completions client that the OpenAI fake does not cover
// (the shared behaviour is tested against the fake in openai.test.ts). A raw node:http server
// on 127.0.0.1 plays servers that answer in unusual but real ways.

type Handler = (request: IncomingMessage, response: ServerResponse) => void;
const servers: Server[] = [];

async function serve(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

const hi = { messages: [{ role: 'user' as const, content: 'Hi' }] };

function model(baseURL: string) {
  return createModel('openai-compatible:local', { baseURL, env: {}, maxRetries: 0 });
}

function chunk(delta: Record<string, unknown>, finish: string | null = null): string {
  return JSON.stringify({
    id: 'c1',
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finish }],
  });
}

describe('openai-compatible wire client', () => {
  it('reads CRLF events between keep-alive comments, and sends the body and headers a server expects', async () => {
    let received: { headers: IncomingMessage['headers']; body: Record<string, unknown> } | undefined;
    const baseURL = await serve(async (request, response) => {
      let text = '';
      for await (const piece of request) text += piece;
      received = { headers: request.headers, body: JSON.parse(text) };
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(': OPENROUTER PROCESSING\r\n\r\n');
      response.write(`data: ${chunk({ role: 'assistant', content: 'Hel' })}\r\n\r\n`);
      response.write(`data: ${chunk({ content: 'lo' }, 'stop')}\r\n\r\ndata: [DONE]\r\n\r\n`);
      response.end();
    });
    const result = await model(baseURL).generate({ ...hi, maxOutputTokens: 20, wholeAnswer: false });
    expect(result).toMatchObject({ text: 'Hello', finishReason: 'stop' });
    expect(received?.body).toMatchObject({ model: 'local', stream: true, max_tokens: 20 });
    expect(received?.headers).toMatchObject({
      'content-type': 'application/json',
      authorization: 'Bearer not-needed',
    });
  });

  it('takes a whole chat.completion JSON from a server that does not stream', async () => {
    const baseURL = await serve((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          id: 'cmpl-1',
          object: 'chat.completion',
          created: 1,
          model: 'local',
          choices: [
            {
              index: 0,
              message: {
                role: 'assistant',
                content: 'Checking.',
                tool_calls: [
                  {
                    id: 'call_1',
                    type: 'function',
                    function: { name: 'list_vms', arguments: '{"node":"pve1"}' },
                  },
                ],
              },
              finish_reason: 'tool_calls',
            },
          ],
          usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 },
        }),
      );
    });
    const result = await model(baseURL).generate(hi);
    expect(result).toMatchObject({
      text: 'Checking.',
      finishReason: 'tool-calls',
      usage: { inputTokens: 5, outputTokens: 3 },
      toolCalls: [{ toolCallId: 'call_1', toolName: 'list_vms', input: { node: 'pve1' } }],
    });
  });

  it('asks for a whole answer in generate(), where the first-token timeout does not apply', async () => {
    const bodies: Array<Record<string, unknown>> = [];
    const baseURL = await serve(async (request, response) => {
      let text = '';
      for await (const piece of request) text += piece;
      bodies.push(JSON.parse(text));
      // Answers only after 300 ms, ten times the first-token timeout below.
      setTimeout(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            id: 'cmpl-2',
            object: 'chat.completion',
            choices: [{ index: 0, message: { role: 'assistant', content: 'Done.' }, finish_reason: 'stop' }],
          }),
        );
      }, 300);
    });
    const slow = createModel('openai-compatible:local', {
      baseURL,
      env: {},
      maxRetries: 0,
      firstTokenTimeoutMs: 30,
    });
    expect(await slow.generate(hi)).toMatchObject({ text: 'Done.', finishReason: 'stop' });
    expect(bodies[0]).toMatchObject({ stream: false });
    expect(bodies[0]).not.toHaveProperty('stream_options');
    expect(await failure(slow.generate({ ...hi, wholeAnswer: false }))).toMatchObject({ code: 'timeout' });
    expect(bodies[1]).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('maps error bodies in the shapes local servers use, and an error event inside the stream', async () => {
    const replies: Array<(response: ServerResponse) => void> = [
      (response) => {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: 'model failed to load' }));
      },
      (response) => {
        response.writeHead(502, { 'content-type': 'text/html' });
        response.end('<html><body>502 Bad Gateway</body></html>');
      },
      (response) => {
        response.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
        response.end(JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_error' } }));
      },
      (response) => {
        // llama.cpp's server when the history does not fit its context.
        response.writeHead(400, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            error: {
              code: 400,
              message: 'the request exceeds the available context size, try increasing it',
              type: 'exceed_context_size_error',
              n_prompt_tokens: 9000,
              n_ctx: 4096,
            },
          }),
        );
      },
      (response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(
          `data: ${chunk({ content: 'par' })}\n\nevent: error\ndata: {"error":{"message":"out of memory"}}\n\n`,
        );
      },
    ];
    const baseURL = await serve((_request, response) => replies.shift()?.(response));
    const local = model(baseURL);
    expect(await failure(local.generate(hi))).toMatchObject({
      code: 'server',
      status: 500,
      message: expect.stringContaining('model failed to load'),
    });
    expect(await failure(local.generate(hi))).toMatchObject({
      code: 'server',
      status: 502,
      message: expect.stringContaining('502 Bad Gateway'),
    });
    expect(await failure(local.generate(hi))).toMatchObject({
      code: 'rate-limit',
      status: 429,
      retryAfterMs: 7000,
    });
    expect(await failure(local.generate(hi))).toMatchObject({
      code: 'context-length',
      status: 400,
      message: expect.stringContaining('too long'),
    });
    const seen: ChatEvent[] = [];
    const mid = await failure(
      (async () => {
        for await (const event of local.stream(hi)) seen.push(event);
      })(),
    );
    expect(seen).toEqual([{ type: 'text-delta', text: 'par' }]);
    expect(mid).toMatchObject({ code: 'server', message: expect.stringContaining('out of memory') });
  });

  it("reads an older server's legacy function_call, streamed and as a whole answer", async () => {
    const replies: Array<(response: ServerResponse) => void> = [
      (response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(
          [
            chunk({
              role: 'assistant',
              content: null,
              function_call: { name: 'get_weather', arguments: '' },
            }),
            chunk({ function_call: { arguments: '{"city":' } }),
            chunk({ function_call: { arguments: '"Oslo"}' } }),
            chunk({}, 'function_call'),
          ]
            .map((data) => `data: ${data}\n\n`)
            .join('') + 'data: [DONE]\n\n',
        );
      },
      (response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify({
            id: 'c2',
            object: 'chat.completion',
            choices: [
              {
                index: 0,
                message: {
                  role: 'assistant',
                  content: null,
                  function_call: { name: 'get_weather', arguments: '{"city":"Rome"}' },
                },
                finish_reason: 'function_call',
              },
            ],
          }),
        );
      },
    ];
    const baseURL = await serve((_request, response) => replies.shift()?.(response));
    const local = model(baseURL);
    const streamed = await local.generate({ ...hi, wholeAnswer: false });
    expect(streamed.finishReason).toBe('tool-calls');
    expect(streamed.toolCalls).toMatchObject([{ toolName: 'get_weather', input: { city: 'Oslo' } }]);
    expect(streamed.toolCalls[0]?.toolCallId).toMatch(/^call_\w+/);
    const whole = await local.generate(hi);
    expect(whole.toolCalls).toMatchObject([{ toolName: 'get_weather', input: { city: 'Rome' } }]);
  });

  it('skips data that is not a chunk, and says so when a whole answer is not an object', async () => {
    const replies: Array<(response: ServerResponse) => void> = [
      (response) => {
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.end(
          `data: null\n\ndata: 42\n\ndata: ${chunk({ content: 'fine' }, 'stop')}\n\ndata: [DONE]\n\n`,
        );
      },
      (response) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('null');
      },
    ];
    const baseURL = await serve((_request, response) => replies.shift()?.(response));
    expect(await model(baseURL).generate({ ...hi, wholeAnswer: false })).toMatchObject({ text: 'fine' });
    expect(await failure(model(baseURL).generate(hi))).toMatchObject({
      code: 'server',
      message: expect.stringContaining('not a JSON object'),
    });
  });

  it('closes the connection at once when the caller aborts mid-stream', async () => {
    let closed: Promise<unknown> | undefined;
    const baseURL = await serve((request, response) => {
      closed = once(response, 'close');
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${chunk({ content: 'first' })}\n\n`);
      // ...and never more: only the client can end this.
      void request;
    });
    const controller = new AbortController();
    const events: ChatEvent[] = [];
    const error = await failure(
      (async () => {
        for await (const event of model(baseURL).stream({ ...hi, signal: controller.signal })) {
          events.push(event);
          controller.abort();
        }
      })(),
    );
    expect(events).toEqual([{ type: 'text-delta', text: 'first' }]);
    expect(error.code).toBe('aborted');
    await closed;
  });
});
