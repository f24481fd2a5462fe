import type { Store, StoredMessage } from '@haia/store';
import { type OpenAIChatRequest, type OpenAIFake, startOpenAIFake } from '@haia/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiServer } from '../src/server.js';
import { listenAgentServers, listVms } from './agent-server.js';
import { contextLines, treeLines } from './conversation-views.js';
import { type LooseJson, sseData, testDatabaseUrl } from './helpers.js';
import { type Backend, pgliteBackend, postgresBackend } from './reopenable-backend.js';

/**
 * The sequences a person makes in OpenWebUI and LibreChat (new chat, next turn, regenerate, edit,
 * delete, a second chat, a restart), sent byte for byte as those clients send them
 * (reference/openai-compat-clients.md) to two API servers on one database, turn by turn in
 * alternation (two api processes on one PostgreSQL; one PGlite store shared in-process without
 * HAIA_TEST_DATABASE_URL). Each flow checks the stored tree and what reached the model.
 */

type Wire = Record<string, unknown>;

/** Where the servers' data lives (opened again for the restart flow): PostgreSQL when there is one. */
const backend = (): Backend => (testDatabaseUrl ? postgresBackend(testDatabaseUrl, 3) : pgliteBackend());

let fake: OpenAIFake;
let data: Backend;
let stores: Store[] = [];
let servers: Array<ApiServer & { url: string }> = [];
let turns = 0;

async function startServers(): Promise<void> {
  // Two stores on one database (PostgreSQL); PGlite serves one process, so both servers share one.
  const first = await data.open();
  stores = [first, testDatabaseUrl ? await data.open() : first];
  servers = await listenAgentServers(stores, fake, [listVms]);
}

async function stopServers(): Promise<void> {
  for (const server of servers) await server.stop();
  for (const store of new Set(stores)) await store.close();
  servers = [];
  stores = [];
}

beforeAll(async () => {
  fake = await startOpenAIFake();
  data = backend();
  await startServers();
}, 60_000);
afterAll(async () => {
  await stopServers();
  await fake?.close();
  await data?.drop();
});
beforeEach(() => fake.reset());

/** One request to the next server in turn (or `on`); the streamed text and the conversation id. */
async function send(
  body: Wire,
  headers: Record<string, string> = {},
  on?: number,
): Promise<{ text: string; conversationId: string | null; toolCalls: LooseJson[] }> {
  const server = servers[on ?? turns++ % servers.length] as ApiServer & { url: string };
  const response = await fetch(`${server.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer none', ...headers },
    body: JSON.stringify({ model: 'haia', stream: true, ...body }),
  });
  const raw = await response.text();
  expect(response.status, raw).toBe(200);
  const conversationId = response.headers.get('x-haia-conversation-id');
  if (body.stream === false) {
    const json = JSON.parse(raw) as LooseJson;
    return { text: json.choices[0].message.content ?? '', conversationId, toolCalls: [] };
  }
  const events = sseData(raw) as LooseJson[];
  expect(events.at(-1)).toBe('[DONE]');
  const toolCalls = events.flatMap((event) => event.choices?.[0]?.delta?.tool_calls ?? []);
  const text = events.map((event) => event.choices?.[0]?.delta?.content ?? '').join('');
  return { text, conversationId, toolCalls };
}

/** What the model was sent, one line a message (HAIA's own instructions left out). */
function context(request: OpenAIChatRequest | undefined): string[] {
  return contextLines(
    request,
    (message) => message.content !== 'You are HAIA.' && !String(message.content).startsWith('You are HAIA'),
  );
}

function text(message: StoredMessage): string {
  if (typeof message.content === 'string') return message.content;
  return (message.content as LooseJson[])
    .map((part) =>
      part.type === 'text'
        ? part.text
        : part.type === 'tool-call'
          ? `[call ${part.toolName}]`
          : part.type === 'tool-result'
            ? `[result ${part.toolName}]`
            : '',
    )
    .join('');
}

/** A conversation's whole tree (every branch), one indented line a message, with its status. */
async function tree(conversationId: string): Promise<string[]> {
  return treeLines(await (stores[0] as Store).getMessages(conversationId), text);
}

const user = (content: string): Wire => ({ role: 'user', content });
const assistant = (content: string): Wire => ({ role: 'assistant', content });
/** The answer of the first turn of the HAIA-tool flows, as the client shows and resends it. */
const checked = 'Let me check.\n\nweb is running.';
const withTool = [
  { text: 'Let me check.', toolCalls: [{ id: 'call_web', name: 'list_vms', arguments: {} }] },
  { text: 'web is running.' },
];
/** The upstream context of a turn after the first, tool-using one: its call and result are back. */
const firstTurnContext = (...system: string[]) => [
  ...system.map((line) => `system: ${line}`),
  'user: is web up?',
  'assistant: Let me check. [call list_vms call_web]',
  'tool call_web: {"vms":[{"name":"web","status":"running","vmid":100}]}',
  'assistant: web is running.',
];

/** One client's way of sending a chat: its headers, system prompt and extra body fields. */
interface ClientShape {
  client: string;
  headers: Record<string, string>;
  system: string;
  extra: Wire;
}

describe.each<ClientShape>([
  {
    client: 'OpenWebUI forwarding its chat id',
    headers: {
      'x-openwebui-user-name': 'Sam%20Admin',
      'x-openwebui-user-id': 'owui-user',
      'x-openwebui-user-email': 'sam@example.com',
      'x-openwebui-user-role': 'admin',
      'x-openwebui-chat-id': 'chat-forwarded',
    },
    system: "User's name is Sam.",
    extra: { stream_options: { include_usage: true }, tools: [] },
  },
  {
    client: 'OpenWebUI without forwarding (no ids at all)',
    headers: {},
    system: "User's name is Sam.",
    extra: { stream_options: { include_usage: true } },
  },
  {
    client: 'LibreChat (system prompt, user field)',
    headers: {},
    system: 'Be brief.',
    extra: { user: 'lc-user' },
  },
])('$client: the chat a person has, over two api processes', ({ headers, system, extra }) => {
  it('new chat, next turn, regenerate three times, continue an older regeneration, edit, delete', async () => {
    const sys = { role: 'system', content: system };
    fake.enqueue(...withTool);
    const first = await send({ ...extra, messages: [sys, user('is web up?')] }, headers);
    expect(first.text).toBe(checked);
    const id = first.conversationId as string;

    fake.enqueue({ text: 'db is stopped.' });
    const history = [sys, user('is web up?'), assistant(checked), user('and db?')];
    const second = await send({ ...extra, messages: history }, headers);
    expect(second.conversationId).toBe(id);
    expect(context(fake.requests.at(-1))).toEqual([...firstTurnContext(system), 'user: and db?']);

    for (const attempt of [1, 2, 3]) {
      fake.enqueue({ text: `db is stopped (${attempt}).` });
      const regenerated = await send({ ...extra, messages: history }, headers);
      expect(regenerated.conversationId).toBe(id);
      expect(context(fake.requests.at(-1))).toEqual([...firstTurnContext(system), 'user: and db?']);
    }

    // The person goes back to the first regeneration and continues from it.
    fake.enqueue({ text: 'Started.' });
    await send(
      { ...extra, messages: [...history, assistant('db is stopped (1).'), user('start it')] },
      headers,
    );
    expect(context(fake.requests.at(-1))).toEqual([
      ...firstTurnContext(system),
      'user: and db?',
      'assistant: db is stopped (1).',
      'user: start it',
    ]);

    // An earlier message edited: a branch after the first answer, its hidden tool call still there.
    fake.enqueue({ text: 'The NAS is fine.' });
    await send(
      { ...extra, messages: [sys, user('is web up?'), assistant(checked), user('and the NAS?')] },
      headers,
    );
    expect(context(fake.requests.at(-1))).toEqual([...firstTurnContext(system), 'user: and the NAS?']);

    // "and db?" with its answers deleted in the client: the later exchange now follows the first answer.
    fake.enqueue({ text: 'Bye.' });
    await send(
      {
        ...extra,
        messages: [
          sys,
          user('is web up?'),
          assistant(checked),
          user('start it'),
          assistant('Started.'),
          user('thanks'),
        ],
      },
      headers,
    );
    expect(context(fake.requests.at(-1))).toEqual([
      ...firstTurnContext(system),
      'user: start it',
      'assistant: Started.',
      'user: thanks',
    ]);

    expect(await tree(id)).toEqual([
      'user: is web up?',
      '  assistant: Let me check.[call list_vms]',
      '    tool: [result list_vms]',
      '      assistant: web is running.',
      '        user: and db?',
      '          assistant: db is stopped.',
      '          assistant: db is stopped (1).',
      '            user: start it',
      '              assistant: Started.',
      '          assistant: db is stopped (2).',
      '          assistant: db is stopped (3).',
      '        user: and the NAS?',
      '          assistant: The NAS is fine.',
      '        user: start it',
      '          assistant: Started.',
      '            user: thanks',
      '              assistant: Bye.',
    ]);
  });
});

describe('a second chat that starts with the same first message', () => {
  it('OpenWebUI with its chat id: a conversation of its own; its title task is not stored', async () => {
    const owui = (chat: string) => ({ 'x-openwebui-user-id': 'owui-twins', 'x-openwebui-chat-id': chat });
    fake.enqueue({ text: 'Hi Sam.' }, { text: 'Hello again.' });
    const first = await send({ messages: [user('hello')] }, owui('chat-a'));
    const second = await send({ messages: [user('hello')] }, owui('chat-b'));
    expect(second.conversationId).not.toBe(first.conversationId);
    expect(context(fake.requests.at(-1))).toEqual(['user: hello']);
    // The title task of chat b carries its chat id (reference 1.7): answered, not stored.
    fake.enqueue({ text: '{ "title": "Greeting" }' });
    const title = await send(
      {
        stream: false,
        max_tokens: 1000,
        messages: [
          user(
            '### Task:\nGenerate a title.\n<chat_history>\nUSER: hello\nASSISTANT: Hello again.\n</chat_history>',
          ),
        ],
      },
      { ...owui('chat-b'), 'x-openwebui-task': 'title_generation' },
    );
    expect(title.conversationId).toBeNull();
    fake.enqueue({ text: 'Sure.' });
    await send({ messages: [user('hello'), assistant('Hello again.'), user('next')] }, owui('chat-b'));
    expect(context(fake.requests.at(-1))).toEqual(['user: hello', 'assistant: Hello again.', 'user: next']);
    expect(await tree(first.conversationId as string)).toEqual(['user: hello', '  assistant: Hi Sam.']);
    expect(await tree(second.conversationId as string)).toEqual([
      'user: hello',
      '  assistant: Hello again.',
      '    user: next',
      '      assistant: Sure.',
    ]);
  });

  it('LibreChat (no chat id): the second chat is a branch of the first, each continues with its own context', async () => {
    const body = { user: 'lc-twins' };
    fake.enqueue({ text: 'Hi from chat one.' }, { text: 'Hi from chat two.' });
    const first = await send({ ...body, messages: [user('hello')] });
    const second = await send({ ...body, messages: [user('hello')] });
    expect(second.conversationId).toBe(first.conversationId);
    fake.enqueue({ text: 'One continues.' }, { text: 'Two continues.' });
    await send({ ...body, messages: [user('hello'), assistant('Hi from chat one.'), user('go on')] });
    expect(context(fake.requests.at(-1))).toEqual([
      'user: hello',
      'assistant: Hi from chat one.',
      'user: go on',
    ]);
    await send({ ...body, messages: [user('hello'), assistant('Hi from chat two.'), user('go on')] });
    expect(context(fake.requests.at(-1))).toEqual([
      'user: hello',
      'assistant: Hi from chat two.',
      'user: go on',
    ]);
    expect(await tree(first.conversationId as string)).toEqual([
      'user: hello',
      '  assistant: Hi from chat one.',
      '    user: go on',
      '      assistant: One continues.',
      '  assistant: Hi from chat two.',
      '    user: go on',
      '      assistant: Two continues.',
    ]);
  });
});

describe('the same user message text twice', () => {
  it('resent in a whole history: each copy is its own turn', async () => {
    const body = { user: 'lc-twice' };
    fake.enqueue({ text: 'All up.' }, { text: 'Restarted.' }, { text: 'All up again.' });
    const first = await send({ ...body, messages: [user('status?')] });
    await send({ ...body, messages: [user('status?'), assistant('All up.'), user('restart web')] });
    await send({
      ...body,
      messages: [
        user('status?'),
        assistant('All up.'),
        user('restart web'),
        assistant('Restarted.'),
        user('status?'),
      ],
    });
    expect(context(fake.requests.at(-1))).toEqual([
      'user: status?',
      'assistant: All up.',
      'user: restart web',
      'assistant: Restarted.',
      'user: status?',
    ]);
    expect(await tree(first.conversationId as string)).toEqual([
      'user: status?',
      '  assistant: All up.',
      '    user: restart web',
      '      assistant: Restarted.',
      '        user: status?',
      '          assistant: All up again.',
    ]);
  });

  it('sent alone by X-HAIA-Conversation-Id (a client that sends only its newest message): it follows the whole conversation', async () => {
    const body = { user: 'sdk-newest-only' };
    fake.enqueue(...withTool);
    const first = await send({ ...body, messages: [user('is web up?')] });
    const byId = { 'x-haia-conversation-id': first.conversationId as string };
    fake.enqueue({ text: 'Restarted.' }, { text: 'Still running.' });
    await send({ ...body, messages: [user('restart web')] }, byId);
    expect(context(fake.requests.at(-1))).toEqual([...firstTurnContext(), 'user: restart web']);
    // The first question again, as the next turn: not a regenerate of the first turn.
    await send({ ...body, messages: [user('is web up?')] }, byId);
    expect(context(fake.requests.at(-1))).toEqual([
      ...firstTurnContext(),
      'user: restart web',
      'assistant: Restarted.',
      'user: is web up?',
    ]);
    expect(await tree(first.conversationId as string)).toEqual([
      'user: is web up?',
      '  assistant: Let me check.[call list_vms]',
      '    tool: [result list_vms]',
      '      assistant: web is running.',
      '        user: restart web',
      '          assistant: Restarted.',
      '            user: is web up?',
      '              assistant: Still running.',
    ]);
  });
});

describe("a client's own tool (OpenWebUI native tools)", () => {
  const tools = [
    {
      type: 'function',
      function: {
        name: 'web_search',
        description: 'Search the web',
        parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] },
      },
    },
  ];
  const headers = { 'x-openwebui-user-id': 'owui-tools', 'x-openwebui-chat-id': 'chat-tools' };

  it('the call goes to the client, its result comes back once, and later turns keep both', async () => {
    fake.enqueue({
      toolCalls: [{ id: 'call_search', name: 'web_search', arguments: { query: 'proxmox 9' } }],
    });
    const asked = await send({ tools, messages: [user('what is new in proxmox 9?')] }, headers);
    expect(asked.toolCalls).toMatchObject([{ id: 'call_search', function: { name: 'web_search' } }]);
    const call = {
      role: 'assistant',
      content: '',
      tool_calls: [
        {
          id: 'call_search',
          type: 'function',
          function: { name: 'web_search', arguments: '{"query":"proxmox 9"}' },
        },
      ],
    };
    const result = {
      role: 'tool',
      tool_call_id: 'call_search',
      content: 'Proxmox VE 9 is based on Debian 13.',
    };
    fake.enqueue({ text: 'It is based on Debian 13.' });
    await send({ tools, messages: [user('what is new in proxmox 9?'), call, result] }, headers);
    const roundTrip = [
      'user: what is new in proxmox 9?',
      'assistant:  [call web_search call_search]',
      'tool call_search: Proxmox VE 9 is based on Debian 13.',
    ];
    expect(context(fake.requests.at(-1))).toEqual(roundTrip);
    fake.enqueue({ text: 'Trixie.' });
    await send(
      {
        tools,
        messages: [
          user('what is new in proxmox 9?'),
          call,
          result,
          assistant('It is based on Debian 13.'),
          user('codename?'),
        ],
      },
      headers,
    );
    expect(context(fake.requests.at(-1))).toEqual([
      ...roundTrip,
      'assistant: It is based on Debian 13.',
      'user: codename?',
    ]);
    expect(await tree(asked.conversationId as string)).toEqual([
      'user: what is new in proxmox 9?',
      '  assistant: [call web_search]',
      '    tool: [result web_search]',
      '      assistant: It is based on Debian 13.',
      '        user: codename?',
      '          assistant: Trixie.',
    ]);
  });
});

describe('a chat continued after a server restart', () => {
  it('both processes restarted: a resent history and a newest-only client continue, with the stored tool calls', async () => {
    const headers = { 'x-openwebui-user-id': 'owui-restart', 'x-openwebui-chat-id': 'chat-restart' };
    fake.enqueue(...withTool, ...withTool);
    const chat = await send({ messages: [user('is web up?')] }, headers);
    const lone = await send({ user: 'sdk-restart', messages: [user('is web up?')] });
    await stopServers();
    await startServers();
    fake.enqueue({ text: 'db is stopped.' }, { text: 'Restarted.' });
    const continued = await send(
      { messages: [user('is web up?'), assistant(checked), user('and db?')] },
      headers,
    );
    expect(continued.conversationId).toBe(chat.conversationId);
    expect(context(fake.requests.at(-1))).toEqual([...firstTurnContext(), 'user: and db?']);
    await send(
      { user: 'sdk-restart', messages: [user('restart web')] },
      { 'x-haia-conversation-id': lone.conversationId as string },
    );
    expect(context(fake.requests.at(-1))).toEqual([...firstTurnContext(), 'user: restart web']);
    expect((await tree(chat.conversationId as string)).slice(4)).toEqual([
      '        user: and db?',
      '          assistant: db is stopped.',
    ]);
  });
});

describe('an answer that failed', () => {
  const headers = { 'x-openwebui-user-id': 'owui-failures', 'x-openwebui-chat-id': 'chat-failures' };

  it('before its first token, then regenerated: the question is stored once, the answer under it', async () => {
    fake.enqueue({ error: { status: 500 } });
    const response = await fetch(`${servers[0]?.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'haia', stream: true, messages: [user('is ceph ok?')] }),
    });
    expect(response.status).toBeGreaterThanOrEqual(500);
    await response.text();
    const id = response.headers.get('x-haia-conversation-id') as string;
    expect(await tree(id)).toEqual(['user: is ceph ok?']);
    fake.enqueue({ text: 'HEALTH_OK.' });
    const retried = await send({ messages: [user('is ceph ok?')] }, headers, 1);
    expect(retried.conversationId).toBe(id);
    expect(context(fake.requests.at(-1))).toEqual(['user: is ceph ok?']);
    expect(await tree(id)).toEqual(['user: is ceph ok?', '  assistant: HEALTH_OK.']);
  });

  it('mid-stream: stored as partial with the text the client saw; the next turn continues it', async () => {
    const other = { ...headers, 'x-openwebui-chat-id': 'chat-failures-2' };
    fake.enqueue({ text: 'The pool is degr', midStreamError: { message: 'upstream went away' } });
    const response = await fetch(`${servers[0]?.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...other },
      body: JSON.stringify({ model: 'haia', stream: true, messages: [user('and the pool?')] }),
    });
    const events = sseData(await response.text()) as LooseJson[];
    const seen = events.map((event) => event.choices?.[0]?.delta?.content ?? '').join('');
    expect(events.at(-1)).toHaveProperty('error');
    const id = response.headers.get('x-haia-conversation-id') as string;
    expect(await tree(id)).toEqual(['user: and the pool?', `  assistant: ${seen} (partial)`]);
    fake.enqueue({ text: 'It is degraded: one OSD is down.' });
    await send({ messages: [user('and the pool?'), assistant(seen), user('finish please')] }, other, 1);
    expect(context(fake.requests.at(-1))).toEqual([
      'user: and the pool?',
      `assistant: ${seen}`,
      'user: finish please',
    ]);
    expect(await tree(id)).toEqual([
      'user: and the pool?',
      `  assistant: ${seen} (partial)`,
      '    user: finish please',
      '      assistant: It is degraded: one OSD is down.',
    ]);
  });
});

describe('OpenWebUI extras', () => {
  const headers = { 'x-openwebui-user-id': 'owui-extras', 'x-openwebui-chat-id': 'chat-extras' };

  it('a resent answer with its reasoning block, and a continued response (the history ends with the answer)', async () => {
    fake.enqueue({ reasoning: 'web is VM 100', text: 'web is fine' });
    const first = await send({ messages: [user('how is web?')] }, headers);
    expect(first.text).toBe('web is fine');
    // OpenWebUI keeps the reasoning as a details block in the content it resends.
    const shown =
      '<details type="reasoning" done="true" duration="1">\n<summary>Thought for 1 seconds</summary>\n> web is VM 100\n</details>\nweb is fine';
    fake.enqueue({ text: ', and so is db.' });
    await send({ messages: [user('how is web?'), assistant(shown)] }, headers);
    expect(context(fake.requests.at(-1))).toEqual(['user: how is web?', 'assistant: web is fine']);
    fake.enqueue({ text: 'You are welcome.' });
    await send(
      { messages: [user('how is web?'), assistant(`${shown}, and so is db.`), user('thanks')] },
      headers,
    );
    expect(context(fake.requests.at(-1))).toEqual([
      'user: how is web?',
      'assistant: web is fine',
      'assistant: , and so is db.',
      'user: thanks',
    ]);
    expect(await tree(first.conversationId as string)).toEqual([
      'user: how is web?',
      '  assistant: web is fine',
      '    assistant: , and so is db.',
      '      user: thanks',
      '        assistant: You are welcome.',
    ]);
  });
});

describe('a long chat the client trims or compacts, under its chat id', () => {
  // LibreChat with the README's header (`{{LIBRECHAT_BODY_CONVERSATIONID}}`) drops its oldest
  // messages past `maxContextTokens`; OpenWebUI's context compaction sends a summary instead.
  const headers = { 'x-openwebui-chat-id': 'lc-convo-trimmed' };
  const sys = { role: 'system', content: 'Be brief.' };

  it('each turn continues the stored path, with the context the client kept and the tool calls of that stretch', async () => {
    fake.enqueue(...withTool);
    const first = await send({ user: 'lc-trim', messages: [sys, user('is web up?')] }, headers);
    const id = first.conversationId as string;
    fake.enqueue({ text: 'db is stopped.' });
    await send(
      { user: 'lc-trim', messages: [sys, user('is web up?'), assistant(checked), user('and db?')] },
      headers,
    );

    // The first question dropped: the stored answer it kept still has its hidden tool call.
    fake.enqueue({ text: 'Started.' });
    const trimmed = await send(
      {
        user: 'lc-trim',
        messages: [sys, assistant(checked), user('and db?'), assistant('db is stopped.'), user('start it')],
      },
      headers,
    );
    expect(trimmed.conversationId).toBe(id);
    expect(context(fake.requests.at(-1))).toEqual([
      'system: Be brief.',
      'assistant: Let me check. [call list_vms call_web]',
      'tool call_web: {"vms":[{"name":"web","status":"running","vmid":100}]}',
      'assistant: web is running.',
      'user: and db?',
      'assistant: db is stopped.',
      'user: start it',
    ]);

    // Compacted: a summary in place of the older turns reaches the model and is not stored.
    fake.enqueue({ text: 'Bye.' });
    const summary = 'Summary: web is up; db was stopped.';
    await send(
      {
        user: 'lc-trim',
        messages: [sys, user(summary), user('start it'), assistant('Started.'), user('thanks')],
      },
      headers,
    );
    expect(context(fake.requests.at(-1))).toEqual([
      'system: Be brief.',
      `user: ${summary}`,
      'user: start it',
      'assistant: Started.',
      'user: thanks',
    ]);

    expect(await tree(id)).toEqual([
      'user: is web up?',
      '  assistant: Let me check.[call list_vms]',
      '    tool: [result list_vms]',
      '      assistant: web is running.',
      '        user: and db?',
      '          assistant: db is stopped.',
      '            user: start it',
      '              assistant: Started.',
      '                user: thanks',
      '                  assistant: Bye.',
    ]);
  });
});
