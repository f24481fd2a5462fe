import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AnthropicFake, anthropicError, startAnthropicFake } from './anthropic-fake.js';

const headers = {
  'x-api-key': 'test-key',
  'anthropic-version': '2026-10-21',
  'content-type': 'application/json',
};
const minimal = { model: 'claude-test', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };

let fake: AnthropicFake;
beforeEach(async () => {
  fake = await startAnthropicFake();
});
afterEach(async () => {
  await fake.close();
});

function post(body: unknown, extraHeaders: Record<string, string | undefined> = headers) {
  const sent = Object.fromEntries(
    Object.entries(extraHeaders).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  return fetch(`${fake.url}/v1/messages`, {
    method: 'POST',
    headers: sent,
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Splits an SSE body into `{ event, data }` frames. */
function frames(body: string): Array<{ event: string | undefined; data: Record<string, unknown> }> {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n');
      const event = lines.find((line) => line.startsWith('event: '))?.slice(7);
      const data = lines
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice(6))
        .join('\n');
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

describe('startAnthropicFake: what the API rejects', () => {
  it('answers 401 authentication_error without x-api-key', async () => {
    const response = await post(minimal, { ...headers, 'x-api-key': undefined });
    expect(response.status).toBe(401);
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    expect(await response.json()).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error', message: 'x-api-key header is required' },
    });
  });

  it('answers 401 for a wrong key when one is configured', async () => {
    await using strict = await startAnthropicFake({ apiKey: 'right-key' });
    const response = await fetch(`${strict.url}/v1/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify(minimal),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { message: string } }).error.message).toBe(
      'invalid x-api-key',
    );
  });

  it('answers 400 for a missing or malformed anthropic-version', async () => {
    const missing = await post(minimal, { ...headers, 'anthropic-version': undefined });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({
      error: { type: 'invalid_request_error', message: 'anthropic-version: header is required' },
    });
    const wrong = await post(minimal, { ...headers, 'anthropic-version': 'latest' });
    expect(wrong.status).toBe(400);
    await using pinned = await startAnthropicFake({ versions: ['2023-06-01'] });
    const other = await fetch(`${pinned.url}/v1/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify(minimal),
    });
    expect(other.status).toBe(400);
  });

  it.each([
    ['malformed JSON', '{"model":', /invalid JSON/],
    ['missing max_tokens', { model: 'm', messages: minimal.messages }, /max_tokens: Field required/],
    ['missing model', { max_tokens: 5, messages: minimal.messages }, /model: Field required/],
    ['no messages', { ...minimal, messages: [] }, /at least one message/],
    [
      'two user turns in a row',
      { ...minimal, messages: [minimal.messages[0], { role: 'user', content: 'again' }] },
      /roles must alternate/,
    ],
    [
      'an empty text block',
      { ...minimal, messages: [{ role: 'user', content: [{ type: 'text', text: '' }] }] },
      /non-empty/,
    ],
    [
      'a message of whitespace-only text',
      {
        ...minimal,
        messages: [
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: [{ type: 'text', text: '\n\n' }] },
          { role: 'user', content: ' ' },
        ],
      },
      /^messages: text content blocks must contain non-whitespace text$/,
    ],
    ['a bad role', { ...minimal, messages: [{ role: 'tool', content: 'x' }] }, /role/],
    [
      'an unanswered tool_use',
      {
        ...minimal,
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'w', input: {} }] },
          { role: 'user', content: 'well?' },
        ],
      },
      /tool_use` ids were found without `tool_result`/,
    ],
    [
      'a tool_result after text',
      {
        ...minimal,
        messages: [
          { role: 'user', content: 'weather?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'w', input: {} }] },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'here' },
              { type: 'tool_result', tool_use_id: 'toolu_1', content: 'x' },
            ],
          },
        ],
      },
      /must come first/,
    ],
    [
      'a thinking block without signature',
      {
        ...minimal,
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm' }] },
          { role: 'user', content: 'q' },
        ],
      },
      /signature: Field required/,
    ],
    [
      'a tool without object schema',
      { ...minimal, tools: [{ name: 'w', input_schema: { type: 'string' } }] },
      /input_schema/,
    ],
    [
      'a prefill for a model that takes none (Claude 4.6 and later)',
      {
        ...minimal,
        model: 'claude-sonnet-4-6',
        messages: [...minimal.messages, { role: 'assistant', content: 'The answer is' }],
      },
      /^This model does not support assistant message prefill\. The conversation must end with a user message\.$/,
    ],
    [
      'a prefill that ends with whitespace',
      {
        ...minimal,
        messages: [
          ...minimal.messages,
          { role: 'assistant', content: [{ type: 'text', text: 'The answer is ' }] },
        ],
      },
      /^messages: final assistant content cannot end with trailing whitespace$/,
    ],
    [
      'an empty stop sequence',
      { ...minimal, stop_sequences: ['END', ''] },
      /^stop_sequences: each stop sequence must be non-empty$/,
    ],
    [
      'a whitespace-only stop sequence',
      { ...minimal, stop_sequences: ['\n\n'] },
      /^stop_sequences: each stop sequence must contain non-whitespace$/,
    ],
    [
      'temperature and top_p together (as current models refuse them)',
      { ...minimal, temperature: 0.5, top_p: 0.9 },
      /cannot both be specified/,
    ],
    [
      'a temperature for a model that took it away (Opus 4.7)',
      { ...minimal, model: 'claude-opus-4-7', temperature: 0.2 },
      /^`temperature` is deprecated for this model\.$/,
    ],
    [
      'top_p for a model that took it away (Opus 4.7)',
      { ...minimal, model: 'claude-opus-4-7-20260416', top_p: 0.9 },
      /^`top_p` is deprecated for this model\.$/,
    ],
    [
      "max_tokens above the model's maximum (Claude 3 Haiku: 4096)",
      { ...minimal, model: 'claude-3-haiku-20240307', max_tokens: 8192 },
      /^max_tokens: 8192 > 4096, which is the maximum allowed number of output tokens for claude-3-haiku-20240307$/,
    ],
    [
      "max_tokens above the model's maximum (Claude Sonnet 4.5: 64000)",
      { ...minimal, model: 'claude-sonnet-4-5-20250929', max_tokens: 128000 },
      /^max_tokens: 128000 > 64000, which is the maximum/,
    ],
    [
      'thinking for a model without it (Claude 3.5 Haiku)',
      { ...minimal, model: 'claude-3-5-haiku-20241022', thinking: { type: 'enabled', budget_tokens: 2048 } },
      /^'claude-3-5-haiku-20241022' does not support thinking\.$/,
    ],
    [
      'a manual thinking budget for a model with adaptive thinking only (Opus 4.7)',
      {
        ...minimal,
        model: 'claude-opus-4-7',
        max_tokens: 4096,
        thinking: { type: 'enabled', budget_tokens: 2048 },
      },
      /^"thinking\.type\.enabled" is not supported for this model\. Use "thinking\.type\.adaptive"/,
    ],
    [
      'adaptive thinking for a model with manual budgets only (Haiku 4.5)',
      { ...minimal, model: 'claude-haiku-4-5-20251001', thinking: { type: 'adaptive' } },
      /^adaptive thinking is not supported on this model$/,
    ],
    [
      'a thinking budget under 1024',
      { ...minimal, max_tokens: 4096, thinking: { type: 'enabled', budget_tokens: 512 } },
      /budget_tokens: Input should be greater than or equal to 1024/,
    ],
    [
      'a thinking budget not below max_tokens',
      { ...minimal, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 2048 } },
      /^`max_tokens` must be greater than `thinking\.budget_tokens`/,
    ],
    [
      'a temperature while thinking',
      { ...minimal, temperature: 0.2, thinking: { type: 'adaptive' } },
      /may only be set to 1 when thinking is enabled/,
    ],
    [
      'forced tool use while thinking',
      {
        ...minimal,
        tools: [{ name: 'w', input_schema: { type: 'object' } }],
        tool_choice: { type: 'any' },
        thinking: { type: 'adaptive' },
      },
      /^Thinking may not be enabled when tool_choice forces tool use\.$/,
    ],
    [
      'a tool loop whose assistant message does not start with its thinking, while thinking',
      {
        ...minimal,
        thinking: { type: 'adaptive' },
        tools: [{ name: 'w', input_schema: { type: 'object' } }],
        messages: [
          { role: 'user', content: 'Weather?' },
          { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'w', input: {} }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] },
        ],
      },
      /^messages\.1\.content\.0\.type: Expected `thinking` or `redacted_thinking`, but found `tool_use`/,
    ],
    [
      'an unknown effort',
      { ...minimal, output_config: { effort: 'extreme' } },
      /^output_config\.effort: Input should be/,
    ],
    [
      'tool_choice any without tools',
      { ...minimal, tool_choice: { type: 'any' } },
      /only be specified while providing tools/,
    ],
  ])('answers 400 invalid_request_error for %s', async (_name, body, message) => {
    const response = await post(body);
    expect(response.status).toBe(400);
    const json = (await response.json()) as { type: string; error: { type: string; message: string } };
    expect(json.type).toBe('error');
    expect(json.error.type).toBe('invalid_request_error');
    expect(json.error.message).toMatch(message);
    expect(fake.requests.at(-1)?.rejected?.status).toBe(400);
  });

  it('accepts the default temperature (1) from a model that took the parameter away', async () => {
    const response = await post({ ...minimal, model: 'claude-opus-4-7', temperature: 1 });
    expect(response.status).toBe(200);
  });

  it('accepts consecutive roles when told to, and ignores temperature', async () => {
    await using lenient = await startAnthropicFake({ allowConsecutiveRoles: true });
    const body = {
      ...minimal,
      temperature: 1,
      messages: [minimal.messages[0], { role: 'user', content: 'again' }],
    };
    const response = await fetch(`${lenient.url}/v1/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(200);
  });
});

describe('startAnthropicFake: answers', () => {
  it('streams a script with event: lines exactly like the API', async () => {
    fake.enqueue({
      id: 'msg_1',
      content: [
        { type: 'thinking', thinking: 'Let me think', chunks: ['Let me', ' think'], signature: 'sig-1' },
        { type: 'text', text: 'Hello there', chunks: ['Hello', ' there'] },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
      ],
      usage: { inputTokens: 20, outputTokens: 9, cacheReadInputTokens: 5, thinkingTokens: 3 },
    });
    const response = await post({ ...minimal, stream: true });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const body = await response.text();
    const parsed = frames(body);
    for (const frame of parsed) expect(frame.event).toBe(frame.data.type);
    expect(parsed.map((frame) => frame.event)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(parsed[0]?.data).toMatchObject({
      message: {
        id: 'msg_1',
        model: 'claude-test',
        usage: { input_tokens: 20, cache_read_input_tokens: 5, output_tokens: 1 },
      },
    });
    expect(parsed[5]?.data).toMatchObject({ delta: { type: 'signature_delta', signature: 'sig-1' } });
    const json = parsed
      .filter((frame) => (frame.data.delta as { type?: string } | undefined)?.type === 'input_json_delta')
      .map((frame) => (frame.data.delta as { partial_json: string }).partial_json);
    expect(json[0]).toBe('');
    expect(JSON.parse(json.join(''))).toEqual({ city: 'Paris' });
    expect(parsed.at(-2)?.data).toMatchObject({
      delta: { stop_reason: 'tool_use' },
      usage: { output_tokens: 9, output_tokens_details: { thinking_tokens: 3 } },
    });
  });

  it('answers stream: false with one JSON message', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'Hi!' }], stopReason: 'max_tokens' });
    const response = await post(minimal);
    expect(await response.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'Hi!' }],
      stop_reason: 'max_tokens',
      usage: { input_tokens: 10, cache_read_input_tokens: 0 },
    });
  });

  it('injects HTTP errors with Anthropic error JSON and retry headers', async () => {
    fake.enqueue(
      anthropicError(429, { retryAfter: 7 }),
      anthropicError(529),
      anthropicError(500, { retryAfterMs: 250 }),
    );
    const limited = await post(minimal);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.headers.get('anthropic-ratelimit-requests-reset')).toMatch(
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/,
    );
    expect(await limited.json()).toMatchObject({
      error: { type: 'rate_limit_error' },
      request_id: expect.stringMatching(/^req_/),
    });
    const overloaded = await post(minimal);
    expect(overloaded.status).toBe(529);
    expect(await overloaded.json()).toMatchObject({
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    const server = await post(minimal);
    expect(server.headers.get('retry-after-ms')).toBe('250');
  });

  it('sends an in-stream error event after the first block, then ends', async () => {
    fake.enqueue({
      content: [
        { type: 'text', text: 'a' },
        { type: 'text', text: 'b' },
      ],
      streamError: { type: 'overloaded_error', message: 'Overloaded' },
    });
    const parsed = frames(await (await post({ ...minimal, stream: true })).text());
    expect(parsed.at(-1)).toEqual({
      event: 'error',
      data: { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } },
    });
    expect(parsed.some((frame) => frame.event === 'message_stop')).toBe(false);
  });

  it('cuts the stream before message_stop, cleanly or by destroying the socket', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'a' }], endEarly: {} });
    const clean = frames(await (await post({ ...minimal, stream: true })).text());
    expect(clean.at(-1)?.event).toBe('message_delta');
    fake.enqueue({ content: [{ type: 'text', text: 'a' }], endEarly: { afterEvents: 3, mode: 'destroy' } });
    const response = await post({ ...minimal, stream: true });
    await expect(response.text()).rejects.toThrow();
  });

  it('splits events across writes, waits between chunks, and records requests', async () => {
    fake.enqueue({ content: [{ type: 'text', text: 'slow' }], splitEvents: true, delayMs: 2 });
    const parsed = frames(await (await post({ ...minimal, stream: true, system: 'Be brief.' })).text());
    expect(parsed.at(-1)?.event).toBe('message_stop');
    const recorded = fake.requests.at(-1);
    expect(recorded?.headers['x-api-key']).toBe('test-key');
    expect(recorded?.body).toMatchObject({ system: 'Be brief.', stream: true });
    expect(recorded?.rejected).toBeUndefined();
  });

  it('uses the default reply and a reply function when nothing is queued', async () => {
    expect(await (await post(minimal)).json()).toMatchObject({
      content: [{ text: 'Hello from the Anthropic fake.' }],
    });
    await using echo = await startAnthropicFake({
      reply: (request) => ({ content: [{ type: 'text', text: `model ${String(request.body?.model)}` }] }),
    });
    const response = await fetch(`${echo.url}/v1/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify(minimal),
    });
    expect(await response.json()).toMatchObject({ content: [{ text: 'model claude-test' }] });
  });
});
