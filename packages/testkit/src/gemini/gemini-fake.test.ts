import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GeminiFake, startGeminiFake } from './gemini-fake.js';

let gemini: GeminiFake;

beforeAll(async () => {
  gemini = await startGeminiFake();
});
afterAll(async () => {
  await gemini.close();
});
beforeEach(() => {
  gemini.server.reset();
});

// biome-ignore lint/suspicious/noExplicitAny: tests read wire bodies field by field
type WireBody = Record<string, any>;

const userTurn = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });

describe('gemini fake', () => {
  it('answers generateContent without streaming and accepts the key as a query parameter', async () => {
    gemini.reply({
      thoughts: 'hm',
      text: ['a', 'b'],
      usage: { promptTokenCount: 1, candidatesTokenCount: 2 },
    });
    const response = await fetch(
      `${gemini.url}/v1/models/gemini-2.5-flash:generateContent?key=${gemini.apiKey}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
      },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as WireBody;
    expect(body.candidates[0].content.parts).toEqual([{ text: 'hm', thought: true }, { text: 'ab' }]);
    expect(body.candidates[0].finishReason).toBe('STOP');
    expect(body.usageMetadata).toMatchObject({
      promptTokenCount: 1,
      candidatesTokenCount: 2,
      totalTokenCount: 3,
    });
  });

  it.each([
    ['not json', 'Invalid JSON payload'],
    [JSON.stringify({ contents: [] }), 'contents is not specified'],
    [JSON.stringify({ contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] }), 'valid role'],
  ])('rejects a malformed body %s', async (body, message) => {
    const response = await fetch(`${gemini.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': gemini.apiKey },
      body,
    });
    expect(response.status).toBe(400);
    const json = (await response.json()) as { error: { code: number; status: string; message: string } };
    expect(json.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
    expect(json.error.message).toContain(message);
  });

  it('rejects a request without a key with 403 PERMISSION_DENIED', async () => {
    const response = await fetch(`${gemini.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { status: string } }).error.status).toBe('PERMISSION_DENIED');
  });

  it('streams a script as SSE chunks ending with a blank line, the last one finishing', async () => {
    gemini.reply({ text: ['a', 'b'], toolCalls: [{ name: 'f', args: { x: 1 } }], delayMs: 1 });
    const response = await fetch(
      `${gemini.url}/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse`,
      {
        method: 'POST',
        headers: { 'x-goog-api-key': gemini.apiKey },
        body: userTurn,
      },
    );
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const body = await response.text();
    expect(body.endsWith('\n\n')).toBe(true);
    const frames = body
      .trim()
      .split('\n\n')
      .map((frame) => JSON.parse(frame.replace(/^data: /, '')) as WireBody);
    expect(frames.map((frame) => frame.candidates[0].finishReason)).toEqual([undefined, undefined, 'STOP']);
    expect(frames[2]?.candidates[0].content.parts).toEqual([{ functionCall: { name: 'f', args: { x: 1 } } }]);
    expect(gemini.requests.at(-1)?.json()).toEqual(JSON.parse(userTurn));
  });

  it('answers an unknown model with 404 NOT_FOUND and an event-stream type on stream requests', async () => {
    const response = await fetch(`${gemini.url}/v1beta/models/gemini-0:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': gemini.apiKey },
      body: userTurn,
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const body = JSON.parse(await response.text()) as WireBody;
    expect(body.error).toMatchObject({ code: 404, status: 'NOT_FOUND' });
    expect(body.error.message).toContain('models/gemini-0 is not found for API version v1beta');
  });

  it('refuses a thinking budget the model cannot take, as Google does', async () => {
    const ask = (model: string, thinkingBudget: number) =>
      fetch(`${gemini.url}/v1beta/models/${model}:generateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': gemini.apiKey },
        body: JSON.stringify({
          ...JSON.parse(userTurn),
          generationConfig: { thinkingConfig: { thinkingBudget } },
        }),
      });
    const noThinking = await ask('gemini-2.0-flash', 1024);
    expect(noThinking.status).toBe(400);
    expect(((await noThinking.json()) as WireBody).error).toMatchObject({
      status: 'INVALID_ARGUMENT',
      message: expect.stringContaining('thinking is not supported by this model'),
    });
    const alwaysThinks = await ask('gemini-2.5-pro', 0);
    expect(((await alwaysThinks.json()) as WireBody).error.message).toContain(
      "Thinking can't be disabled for this model",
    );
    expect((await ask('gemini-2.5-pro', 1024)).status).toBe(200);
    expect((await ask('gemini-2.5-flash', 0)).status).toBe(200);
  });

  it("refuses a maxOutputTokens above the model's maximum, naming the range as Google does", async () => {
    const ask = (model: string, maxOutputTokens: number) =>
      fetch(`${gemini.url}/v1beta/models/${model}:generateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': gemini.apiKey },
        body: JSON.stringify({ ...JSON.parse(userTurn), generationConfig: { maxOutputTokens } }),
      });
    const tooMany = await ask('gemini-2.0-flash', 100_000);
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as WireBody).error).toMatchObject({
      status: 'INVALID_ARGUMENT',
      message:
        'Unable to submit request because it has a maxOutputTokens value of 100000 but the supported range is from 1 (inclusive) to 8193 (exclusive). Update the value and try again.',
    });
    expect((await ask('gemini-2.0-flash', 8192)).status).toBe(200);
    expect((await ask('gemini-2.5-flash', 65_536)).status).toBe(200);
    expect((await ask('gemini-2.5-flash', 65_537)).status).toBe(400);
  });

  it('rejects a wrong key with 400 INVALID_ARGUMENT and reason API_KEY_INVALID', async () => {
    const response = await fetch(`${gemini.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': 'nope' },
      body: userTurn,
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as WireBody;
    expect(body.error.message).toBe('API key not valid. Please pass a valid API key.');
    expect(body.error.details[0].reason).toBe('API_KEY_INVALID');
  });

  it('injects an error with Google status names', async () => {
    gemini.error(429, {
      details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '1s' }],
    });
    const response = await fetch(`${gemini.url}/v1beta/models/gemini-2.5-flash:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': gemini.apiKey },
      body: userTurn,
    });
    expect(response.status).toBe(429);
    expect(((await response.json()) as WireBody).error).toMatchObject({
      code: 429,
      status: 'RESOURCE_EXHAUSTED',
    });
  });
});
