import { afterEach, describe, expect, it } from 'vitest';
import { type OpenAIFake, startOpenAIFake } from './openai-fake.js';

let fake: OpenAIFake | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function post(
  target: OpenAIFake,
  body: unknown,
  headers: Record<string, string> = { authorization: 'Bearer sk-test' },
) {
  return fetch(`${target.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

interface Envelope {
  error: { message: string; type: string; param: string | null; code: string | null };
}

async function errorOf(response: Response): Promise<Envelope['error']> {
  return ((await response.json()) as Envelope).error;
}

function dataLines(text: string): string[] {
  return text
    .split('\n\n')
    .filter((frame) => frame.startsWith('data: '))
    .map((frame) => frame.slice(6));
}

const ask = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };

describe('startOpenAIFake', () => {
  it('rejects what OpenAI rejects, with its error envelope', async () => {
    fake = await startOpenAIFake({ apiKeys: ['sk-good-key-1234'], models: ['gpt-4o-mini'] });
    const missing = await post(fake, ask, {});
    expect(missing.status).toBe(401);
    expect(await errorOf(missing)).toMatchObject({
      type: 'invalid_request_error',
      message: expect.stringMatching(/didn't provide an API key/),
    });
    const wrong = await post(fake, ask, { authorization: 'Bearer sk-wrong-key-9876' });
    expect(wrong.status).toBe(401);
    const wrongBody = { error: await errorOf(wrong) };
    expect(wrongBody.error.code).toBe('invalid_api_key');
    expect(wrongBody.error.message).not.toContain('sk-wrong-key-9876');
    const good = { authorization: 'Bearer sk-good-key-1234' };
    const malformed = await post(fake, '{"model":', good);
    expect(malformed.status).toBe(400);
    expect((await errorOf(malformed)).message).toMatch(/could not parse the JSON body/);
    const noModel = await post(fake, { messages: ask.messages }, good);
    expect((await errorOf(noModel)).message).toBe('you must provide a model parameter');
    const noMessages = await post(fake, { model: 'gpt-4o-mini' }, good);
    expect(noMessages.status).toBe(400);
    expect(await errorOf(noMessages)).toMatchObject({
      param: 'messages',
      code: 'missing_required_parameter',
    });
    const unknown = await post(fake, { ...ask, model: 'gpt-9' }, good);
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe('model_not_found');
    expect(fake.requests).toHaveLength(0);
    const models = await fetch(`${fake.baseURL}/models`, { headers: good });
    expect(await models.json()).toMatchObject({
      object: 'list',
      data: [{ id: 'gpt-4o-mini', object: 'model' }],
    });
  });

  it('streams text, reasoning, fragmented tool calls and usage as SSE', async () => {
    fake = await startOpenAIFake();
    fake.enqueue({
      reasoning: 'think',
      text: ['Hel', 'lo'],
      toolCalls: [{ id: 'call_a', name: 'list_vms', arguments: { node: 'pve1' }, fragments: 3 }],
      usage: { promptTokens: 5, completionTokens: 7, cachedTokens: 2, reasoningTokens: 1 },
    });
    const response = await post(fake, { ...ask, stream: true, stream_options: { include_usage: true } });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const lines = dataLines(await response.text());
    expect(lines.at(-1)).toBe('[DONE]');
    const chunks = lines.slice(0, -1).map((line) => JSON.parse(line));
    const deltas = chunks.flatMap((chunk) =>
      chunk.choices.map((choice: { delta: Record<string, unknown> }) => choice.delta),
    );
    expect(
      deltas
        .map((delta) => delta.content)
        .filter(Boolean)
        .join(''),
    ).toBe('Hello');
    expect(
      deltas
        .map((delta) => delta.reasoning_content)
        .filter(Boolean)
        .join(''),
    ).toBe('think');
    const fragments = deltas.flatMap(
      (delta) => (delta.tool_calls as Array<{ function: { arguments?: string } }>) ?? [],
    );
    expect(fragments.length).toBe(4);
    expect(fragments.map((fragment) => fragment.function.arguments ?? '').join('')).toBe('{"node":"pve1"}');
    expect(chunks.at(-2).choices[0].finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { prompt_tokens: 5, prompt_tokens_details: { cached_tokens: 2 } },
    });
    expect(fake.requests[0]?.body.stream).toBe(true);
    expect(fake.requests[0]?.apiKey).toBe('sk-test');
  });

  it('answers JSON without stream, and injects errors', async () => {
    fake = await startOpenAIFake({ reply: (request) => ({ text: `echo ${request.body.messages.length}` }) });
    fake.enqueue(
      { error: { status: 429, headers: { 'retry-after': '3' } } },
      { midStreamError: { message: 'boom' } },
    );
    const limited = await post(fake, ask);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect((await errorOf(limited)).code).toBe('rate_limit_exceeded');
    const broken = dataLines(await (await post(fake, { ...ask, stream: true })).text());
    expect(JSON.parse(broken.at(-1) ?? '{}')).toMatchObject({
      error: { message: 'boom', type: 'server_error' },
    });
    expect(broken).not.toContain('[DONE]');
    const plain = (await (await post(fake, ask)).json()) as { usage: { total_tokens: number } };
    expect(plain).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { content: 'echo 1' }, finish_reason: 'stop' }],
    });
    expect(plain.usage.total_tokens).toBeGreaterThan(0);
  });

  it('truncates a stream by destroying the socket', async () => {
    fake = await startOpenAIFake();
    fake.enqueue({ text: 'partial', truncate: true });
    const response = await post(fake, { ...ask, stream: true });
    await expect(response.text()).rejects.toThrow();
    expect(fake.requests).toHaveLength(1);
  });
});

describe('startOpenAIFake: tool messages, reasoning models and quirks', () => {
  const call = { id: 'call_a', type: 'function', function: { name: 'f', arguments: '{}' } };

  it('rejects tool messages that answer no tool call, and tool calls left unanswered', async () => {
    fake = await startOpenAIFake();
    const orphan = await post(fake, {
      ...ask,
      messages: [...ask.messages, { role: 'tool', tool_call_id: 'call_x', content: 'r' }],
    });
    expect(orphan.status).toBe(400);
    expect((await errorOf(orphan)).message).toMatch(/role 'tool' must be a response to a preceeding message/);
    const unanswered = await post(fake, {
      ...ask,
      messages: [
        ...ask.messages,
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'user', content: 'and?' },
      ],
    });
    expect(unanswered.status).toBe(400);
    expect((await errorOf(unanswered)).message).toMatch(/did not have response messages: call_a/);
    const answered = await post(fake, {
      ...ask,
      messages: [
        ...ask.messages,
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'call_a', content: 'r' },
      ],
    });
    expect(answered.status).toBe(200);
    expect(fake.requests).toHaveLength(1);
  });

  it('rejects max_tokens for reasoning models the way OpenAI does', async () => {
    fake = await startOpenAIFake();
    const response = await post(fake, { ...ask, model: 'o3-mini', max_tokens: 10 });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ param: 'max_tokens', code: 'unsupported_parameter' });
    expect((await post(fake, { ...ask, model: 'o3-mini', max_completion_tokens: 10 })).status).toBe(200);
  });

  it("rejects a token limit above the model's maximum, naming the maximum as OpenAI does", async () => {
    fake = await startOpenAIFake();
    const response = await post(fake, { ...ask, model: 'gpt-4o', max_tokens: 20480 });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({
      message:
        'max_tokens is too large: 20480. This model supports at most 16384 completion tokens, whereas you provided 20480.',
      type: 'invalid_request_error',
      param: 'max_tokens',
      code: 'invalid_value',
    });
    expect(
      await errorOf(await post(fake, { ...ask, model: 'o4-mini', max_completion_tokens: 200000 })),
    ).toMatchObject({ param: 'max_completion_tokens', message: expect.stringContaining('at most 100000') });
    expect((await post(fake, { ...ask, model: 'gpt-4o', max_tokens: 16384 })).status).toBe(200);
    // A model the table does not know takes any limit, unless the test says otherwise.
    expect((await post(fake, { ...ask, model: 'my-model', max_tokens: 1_000_000 })).status).toBe(200);
    await fake.close();
    fake = await startOpenAIFake({ maxOutputTokens: () => 100 });
    expect((await post(fake, { ...ask, model: 'my-model', max_tokens: 101 })).status).toBe(400);
  });

  it('rejects reasoning_effort for a model that does not reason, the way OpenAI does', async () => {
    fake = await startOpenAIFake();
    const response = await post(fake, { ...ask, model: 'gpt-4o', reasoning_effort: 'high' });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({
      message: "Unsupported parameter: 'reasoning_effort' is not supported with this model.",
      type: 'invalid_request_error',
      param: 'reasoning_effort',
      code: 'unsupported_parameter',
    });
    expect((await post(fake, { ...ask, model: 'gpt-5-mini', reasoning_effort: 'high' })).status).toBe(200);
    expect((await post(fake, { ...ask, model: 'gpt-5-chat-latest', temperature: 0.2 })).status).toBe(200);
  });

  it('rejects stop for the reasoning models that take none, the way OpenAI does', async () => {
    fake = await startOpenAIFake();
    const refused = await post(fake, { ...ask, model: 'gpt-5-mini', stop: ['END'] });
    expect(refused.status).toBe(400);
    expect(await errorOf(refused)).toEqual({
      message: "Unsupported parameter: 'stop' is not supported with this model.",
      type: 'invalid_request_error',
      param: 'stop',
      code: 'unsupported_parameter',
    });
    expect((await post(fake, { ...ask, model: 'o4-mini', stop: 'END' })).status).toBe(400);
    expect((await post(fake, { ...ask, model: 'gpt-4o', stop: ['END'] })).status).toBe(200);
  });

  it('rejects an effort the reasoning model does not take, listing the ones it does', async () => {
    fake = await startOpenAIFake();
    const refused = await post(fake, { ...ask, model: 'o3', reasoning_effort: 'minimal' });
    expect(refused.status).toBe(400);
    expect(await errorOf(refused)).toEqual({
      message:
        "Unsupported value: 'reasoning_effort' does not support 'minimal' with this model. Supported values are: 'low', 'medium', and 'high'.",
      type: 'invalid_request_error',
      param: 'reasoning_effort',
      code: 'unsupported_value',
    });
    expect((await post(fake, { ...ask, model: 'gpt-5-mini', reasoning_effort: 'none' })).status).toBe(400);
    expect((await post(fake, { ...ask, model: 'gpt-5.1', reasoning_effort: 'none' })).status).toBe(200);
    expect((await post(fake, { ...ask, model: 'o4-mini', reasoning_effort: 'high' })).status).toBe(200);
  });

  it('rejects a non-default temperature or top_p for reasoning models the way OpenAI does', async () => {
    fake = await startOpenAIFake();
    const response = await post(fake, { ...ask, model: 'gpt-5-mini', temperature: 0.2 });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({
      param: 'temperature',
      code: 'unsupported_value',
      message:
        "Unsupported value: 'temperature' does not support 0.2 with this model. Only the default (1) value is supported.",
    });
    expect(await errorOf(await post(fake, { ...ask, model: 'o3', top_p: 0.5 }))).toMatchObject({
      param: 'top_p',
    });
    expect(await errorOf(await post(fake, { ...ask, model: 'gpt-5', presence_penalty: 0.5 }))).toMatchObject({
      message: "Unsupported parameter: 'presence_penalty' is not supported with this model.",
      param: 'presence_penalty',
      code: 'unsupported_parameter',
    });
    expect((await post(fake, { ...ask, model: 'gpt-5-mini', temperature: 1 })).status).toBe(200);
    expect((await post(fake, { ...ask, model: 'gpt-4.1', temperature: 0.2 })).status).toBe(200);
  });

  it('streams a refusal and repeated tool-call heads when scripted', async () => {
    fake = await startOpenAIFake();
    fake.enqueue(
      { refusal: 'No.' },
      { toolCalls: [{ id: 'call_r', name: 'f', arguments: { a: 1 }, repeatHead: true, fragments: 2 }] },
    );
    const refusal = dataLines(await (await post(fake, { ...ask, stream: true })).text());
    const deltas = refusal
      .filter((line) => line !== '[DONE]')
      .map((line) => JSON.parse(line).choices[0]?.delta);
    expect(deltas).toContainEqual({ refusal: 'No.' });
    expect(deltas[0]).toEqual({ role: 'assistant', content: null, refusal: null });
    const repeated = dataLines(await (await post(fake, { ...ask, stream: true })).text());
    const heads = repeated
      .filter((line) => line !== '[DONE]')
      .flatMap((line) => JSON.parse(line).choices[0]?.delta?.tool_calls ?? []);
    expect(heads).toHaveLength(3);
    for (const head of heads) expect(head).toMatchObject({ index: 0, id: 'call_r', function: { name: 'f' } });
  });
});
