import type { Store, StoredMessage } from '@haia/store';
import { type OpenAIChatRequest, type OpenAIFake, type OpenAIScript, startOpenAIFake } from '@haia/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ApiServer } from '../src/server.js';
import { listenAgentServers, listVms } from './agent-server.js';
import { contextLines, treeLines } from './conversation-views.js';
import { type LooseJson, sseData, testDatabaseUrl } from './helpers.js';
import { type Backend, pgliteBackend, postgresBackend } from './reopenable-backend.js';

/**
 * OpenWebUI's native tool calling through HAIA, replayed as OpenWebUI sends it, against two API
 * servers on one database (alternating request by request), the upstream being the OpenAI fake.
 *
 * OpenWebUI runs a tool the model called itself, then calls the connection again in the same turn
 * with the call and its result appended, and on later turns resends the history. What it sends
 * differs by version (open-webui/open-webui, backend/open_webui/utils/middleware.py and
 * src/lib/components/chat/Chat.svelte):
 *
 * - 0.6.x, within a turn: `[...messages, *convert_content_blocks_to_messages(content_blocks, raw=True)]`
 *   (`process_chat_response` › `response_handler`): per tool round one assistant message with the
 *   text before the calls (`serialize_content_blocks(raw=True)`, stripped, `""` when none) and the
 *   accumulated `tool_calls` as streamed (with their `index`; `arguments` re-encoded with Python's
 *   `json.dumps`, so `{"query": "x"}`), then one `tool` message per result.
 * - 0.6.x, next turns: the frontend resends role and content only; the content is what OpenWebUI
 *   showed (`serialize_content_blocks`: `<details type="tool_calls" done="true" id name arguments
 *   result files embeds>` blocks), passed through `processDetails` (src/lib/utils/index.ts), which
 *   drops reasoning blocks and replaces each tool block by `"${attributes.result}"`: the result,
 *   JSON-encoded and HTML-escaped, in quotes. No `tool_calls`, no `tool` messages.
 * - newest (0.9 to 0.11): the turn is kept as Responses-style `output` items (message,
 *   function_call, function_call_output). Within a turn: `[*form_data['messages'],
 *   *convert_output_to_messages(output, raw=True)]`; on next turns the backend loads the chat
 *   from its database and `process_messages_with_output` expands each assistant answer the same
 *   way (backend/open_webui/utils/misc.py `convert_output_to_messages`: text is gathered into the
 *   assistant message that carries the following tool calls; calls with no text between them,
 *   such as a second model call that only calls a tool again, land in ONE assistant message,
 *   their results after it; the last text is an assistant message of its own).
 */

type Wire = Record<string, unknown>;

/** OpenWebUI's own tool, as its native mode sends it in `tools`. */
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

const backend = (): Backend => (testDatabaseUrl ? postgresBackend(testDatabaseUrl, 3) : pgliteBackend());

let fake: OpenAIFake;
let data: Backend;
let stores: Store[] = [];
let servers: Array<ApiServer & { url: string }> = [];
let turns = 0;

beforeAll(async () => {
  fake = await startOpenAIFake();
  data = backend();
  // Two stores on one database (PostgreSQL); PGlite serves one process, so both servers share one.
  const first = await data.open();
  stores = [first, testDatabaseUrl ? await data.open() : first];
  servers = await listenAgentServers(stores, fake, [listVms]);
}, 60_000);
afterAll(async () => {
  for (const server of servers) await server.stop();
  for (const store of new Set(stores)) await store.close();
  await fake?.close();
  await data?.drop();
});
beforeEach(() => fake.reset());

// ---------------------------------------------------------------------------------------------
// OpenWebUI's side, as its code does it.

/** A tool call as OpenWebUI accumulates it from the stream (`stream_body_handler`, by `index`). */
interface StreamedCall {
  index?: number;
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** Python's `json.dumps` with its default separators (`", "`, `": "`), for JSON values. */
function pythonJsonDumps(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object' && value !== null)
    return `{${Object.entries(value)
      .map(([key, entry]) => `${JSON.stringify(key)}: ${pythonJsonDumps(entry)}`)
      .join(', ')}}`;
  return JSON.stringify(value);
}

/** Python's `html.escape(text, quote=True)`. */
function htmlEscape(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#x27;');
}

/** The content blocks of one OpenWebUI 0.6.x answer (`content_blocks` in `response_handler`). */
type Block =
  | { type: 'text'; content: string }
  | {
      type: 'tool_calls';
      content: StreamedCall[];
      results: Array<{ tool_call_id: string; content: string }>;
    };

/** `serialize_content_blocks(content_blocks, raw)` of 0.6.x, for text and finished tool blocks. */
function serializeBlocks(blocks: readonly Block[], raw: boolean): string {
  let content = '';
  for (const block of blocks) {
    if (block.type === 'text') {
      const text = block.content.trim();
      if (text) content = `${content}${text}\n`;
      continue;
    }
    if (content && !content.endsWith('\n')) content += '\n';
    if (raw) continue;
    for (const call of block.content) {
      const result = block.results.find((entry) => entry.tool_call_id === call.id);
      content +=
        `<details type="tool_calls" done="true" id="${call.id}" name="${call.function.name}" ` +
        `arguments="${htmlEscape(JSON.stringify(call.function.arguments))}" ` +
        `result="${htmlEscape(JSON.stringify(result?.content ?? ''))}" files="" ` +
        `embeds="${htmlEscape(JSON.stringify(''))}">\n<summary>Tool Executed</summary>\n</details>\n`;
    }
  }
  return content.trim();
}

/** `convert_content_blocks_to_messages(content_blocks, raw=True)` of 0.6.x. */
function contentBlocksToMessages(blocks: readonly Block[]): Wire[] {
  const messages: Wire[] = [];
  let pending: Block[] = [];
  for (const block of blocks) {
    if (block.type !== 'tool_calls') {
      pending.push(block);
      continue;
    }
    messages.push({ role: 'assistant', content: serializeBlocks(pending, true), tool_calls: block.content });
    for (const result of block.results)
      messages.push({ role: 'tool', tool_call_id: result.tool_call_id, content: result.content });
    pending = [];
  }
  const rest = serializeBlocks(pending, true);
  if (rest) messages.push({ role: 'assistant', content: rest });
  return messages;
}

/** `processDetails` of the 0.6.x frontend: what it resends of a shown answer. */
function processDetails(content: string): string {
  let text = content.replace(/<details\s+type="(reasoning|code_interpreter)"[^>]*>.*?<\/details>/gis, '');
  for (const match of text.match(/<details\s+type="tool_calls"([^>]*)>([\s\S]*?)<\/details>/gis) ?? []) {
    const attributes: Record<string, string> = {};
    for (const [, key, value] of match.matchAll(/(\w+)="([^"]*)"/g))
      attributes[key as string] = value as string;
    text = text.replace(match, `"${attributes.result}"`);
  }
  return text;
}

/** One Responses-style output item of the newest OpenWebUI. */
type OutputItem =
  | { type: 'message'; content: Array<{ type: 'output_text'; text: string }> }
  | { type: 'function_call'; call_id: string; name: string; arguments: string; status: 'completed' }
  | { type: 'function_call_output'; call_id: string; output: Array<{ type: 'input_text'; text: string }> };

/** `convert_output_to_messages(output, raw=True)` of the newest OpenWebUI (misc.py, v0.11.1). */
function outputToMessages(output: readonly OutputItem[]): Wire[] {
  const messages: Wire[] = [];
  let content: string[] = [];
  let calls: Wire[] = [];
  let results: OutputItem[] = [];
  const flushPending = () => {
    if (content.length === 0 && calls.length === 0) return;
    messages.push({
      role: 'assistant',
      content: content.join('\n'),
      ...(calls.length > 0 ? { tool_calls: calls } : {}),
    });
    content = [];
    calls = [];
  };
  const flushResults = () => {
    if (results.length === 0) return;
    flushPending();
    for (const item of results)
      if (item.type === 'function_call_output')
        messages.push({
          role: 'tool',
          tool_call_id: item.call_id,
          content: item.output.map((part) => part.text).join(''),
        });
    results = [];
  };
  for (const item of output) {
    if (item.type === 'message') {
      flushResults();
      const text = item.content.map((part) => part.text).join('');
      if (text) content.push(text);
    } else if (item.type === 'function_call') {
      calls.push({
        id: item.call_id,
        type: 'function',
        function: { name: item.name, arguments: item.arguments },
      });
    } else {
      results.push(item);
    }
  }
  flushResults();
  flushPending();
  return messages;
}

type Version = '0.6' | 'newest';

/** One answer in OpenWebUI's chat history: what it shows (0.6.x) and its output items (newest). */
interface ChatAnswer {
  role: 'assistant';
  content: string;
  output: OutputItem[];
}

/** The chat as OpenWebUI keeps it: the path from the root to the message answered next. */
type ChatHistory = Array<{ role: 'user'; content: string } | ChatAnswer>;

/** What OpenWebUI resends of a chat's history on a new turn. */
function resentHistory(version: Version, history: ChatHistory): Wire[] {
  return history.flatMap((message): Wire[] => {
    if (message.role === 'user') return [message];
    if (version === 'newest') return outputToMessages(message.output);
    const content = processDetails(message.content);
    return content.trim() ? [{ role: 'assistant', content }] : [];
  });
}

/** The tool OpenWebUI runs for the model: `web_search`, answering from the query. */
function runWebSearch(call: StreamedCall): string {
  const { query } = JSON.parse(call.function.arguments) as { query: string };
  return `Results for ${query}: Proxmox VE 9 is based on Debian 13 "Trixie".`;
}

const system = { role: 'system', content: "User's name is Sam." };

/** Everything one OpenWebUI turn sent to HAIA, with what HAIA streamed back to each request. */
interface Turn {
  answer: ChatAnswer;
  conversationId: string;
  /** The `messages` of each request of the turn. */
  requests: Wire[][];
}

/**
 * One turn of OpenWebUI in native tool mode: the history and the new user message (none for a
 * regenerate) to HAIA, then, while HAIA's answer ends with `tool_calls`, the tools run and the
 * follow-up request with the calls and results appended, as `version` builds it. Requests go to
 * the two servers in turn, or to `route[round]`.
 */
async function owuiTurn(
  version: Version,
  history: ChatHistory,
  headers: Record<string, string>,
  route?: readonly number[],
): Promise<Turn> {
  const base = [system, ...resentHistory(version, history)];
  const blocks: Block[] = [{ type: 'text', content: '' }];
  const output: OutputItem[] = [];
  const requests: Wire[][] = [];
  let conversationId = '';
  for (let round = 0; round < 10; round++) {
    const followUp = version === 'newest' ? outputToMessages(output) : contentBlocksToMessages(blocks);
    const messages = [...base, ...followUp];
    requests.push(messages);
    const at = turns++ % servers.length;
    const server = servers[route?.[round] ?? at] as ApiServer & { url: string };
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer none', ...headers },
      body: JSON.stringify({
        model: 'haia',
        stream: true,
        stream_options: { include_usage: true },
        messages,
        tools,
      }),
    });
    const raw = await response.text();
    expect(response.status, raw).toBe(200);
    conversationId = response.headers.get('x-haia-conversation-id') as string;
    const events = sseData(raw) as LooseJson[];
    expect(events.at(-1)).toBe('[DONE]');
    let text = '';
    const calls: StreamedCall[] = [];
    for (const event of events) {
      const delta = event.choices?.[0]?.delta;
      if (!delta) continue;
      if (delta.content) text += delta.content;
      for (const fragment of delta.tool_calls ?? []) {
        const known = calls.find((call) => call.index === fragment.index);
        if (!known) {
          calls.push({
            ...fragment,
            function: { name: fragment.function?.name ?? '', arguments: fragment.function?.arguments ?? '' },
          });
          continue;
        }
        if (fragment.function?.name) known.function.name += fragment.function.name;
        if (fragment.function?.arguments) known.function.arguments += fragment.function.arguments;
      }
    }
    const last = blocks.at(-1) as Block;
    if (last.type === 'text') last.content += text;
    if (text) output.push({ type: 'message', content: [{ type: 'output_text', text }] });
    if (calls.length === 0) break;
    // OpenWebUI re-encodes the arguments it parsed (0.6.x); the newest keeps them as streamed.
    const sent = calls.map((call) => ({
      ...call,
      function: { ...call.function, arguments: pythonJsonDumps(JSON.parse(call.function.arguments)) },
    }));
    const results = calls.map((call) => ({ tool_call_id: call.id, content: runWebSearch(call) }));
    if (last.type === 'text' && !last.content.trim()) blocks.pop();
    blocks.push({ type: 'tool_calls', content: sent, results }, { type: 'text', content: '' });
    for (const call of calls)
      output.push({
        type: 'function_call',
        call_id: call.id,
        name: call.function.name,
        arguments: call.function.arguments,
        status: 'completed',
      });
    for (const result of results)
      output.push({
        type: 'function_call_output',
        call_id: result.tool_call_id,
        output: [{ type: 'input_text', text: result.content }],
      });
  }
  return {
    answer: { role: 'assistant', content: serializeBlocks(blocks, false), output },
    conversationId,
    requests,
  };
}

// ---------------------------------------------------------------------------------------------
// What HAIA stored and sent on.

/** What the model was sent, one line a message (the system messages left out). */
function context(request: OpenAIChatRequest | undefined): string[] {
  return contextLines(request, (message) => message.role !== 'system');
}

function partsText(message: StoredMessage): string {
  if (typeof message.content === 'string') return message.content;
  return (message.content as LooseJson[])
    .map((part) =>
      part.type === 'text'
        ? part.text
        : part.type === 'tool-call'
          ? `[call ${part.toolName} ${part.toolCallId}]`
          : part.type === 'tool-result'
            ? `[result ${part.toolCallId}]`
            : '',
    )
    .join('');
}

/** A conversation's whole tree (every branch), one indented line a message, with its status. */
async function tree(conversationId: string): Promise<string[]> {
  return treeLines(await (stores[0] as Store).getMessages(conversationId), partsText);
}

const searchResult = (query: string) => `Results for ${query}: Proxmox VE 9 is based on Debian 13 "Trixie".`;
const search = (id: string, query: string) => ({ id, name: 'web_search', arguments: { query } });

// ---------------------------------------------------------------------------------------------

describe.each<{ version: Version; ids: boolean }>([
  { version: '0.6', ids: true },
  { version: '0.6', ids: false },
  { version: 'newest', ids: true },
  { version: 'newest', ids: false },
])('OpenWebUI $version native tools (chat id forwarded: $ids)', ({ version, ids }) => {
  const tag = `${version}${ids ? '-id' : ''}`;
  const headers: Record<string, string> = ids
    ? { 'x-openwebui-user-id': `owui-native-${tag}`, 'x-openwebui-chat-id': `chat-native-${tag}` }
    : {};
  const q1 = `is web up? (${tag})`;
  const q2 = 'what is new in proxmox 9?';
  const q3 = 'compare 8 and 9';
  const q4 = 'thanks';

  it('one call, two parallel calls and a call again, the next turn, a regenerate: stored once, sent once', async () => {
    const chat: ChatHistory = [];
    const ask = async (question: string | undefined, replies: OpenAIScript[], route?: number[]) => {
      fake.enqueue(...replies);
      if (question !== undefined) chat.push({ role: 'user', content: question });
      const turn = await owuiTurn(version, chat, headers, route);
      chat.push(turn.answer);
      return turn;
    };

    // Turn 1: HAIA's own tool (the client never sees it).
    const first = await ask(q1, [
      { text: 'Let me check.', toolCalls: [{ id: 'call_vms', name: 'list_vms', arguments: {} }] },
      { text: 'web is running.' },
    ]);
    const id = first.conversationId;
    const turn1 = [
      `user: ${q1}`,
      'assistant: Let me check. [call list_vms call_vms]',
      'tool call_vms: {"vms":[{"name":"web","status":"running","vmid":100}]}',
      'assistant: web is running.',
    ];
    expect(context(fake.requests.at(-1))).toEqual(turn1.slice(0, 3));

    // Turn 2: one call of the client's tool, its result, the answer.
    const second = await ask(q2, [
      { text: 'Searching.', toolCalls: [search('call_a', 'proxmox 9')] },
      { text: 'It is based on Debian 13.' },
    ]);
    expect(second.requests).toHaveLength(2);
    expect(second.conversationId).toBe(id);
    const turn2 = [
      `user: ${q2}`,
      'assistant: Searching. [call web_search call_a]',
      `tool call_a: ${searchResult('proxmox 9')}`,
    ];
    expect(context(fake.requests.at(-1))).toEqual([...turn1, ...turn2]);

    // Turn 3: two parallel calls, then the model calls the tool again after their results (each
    // round on the other server, as every request here).
    const third = await ask(q3, [
      { toolCalls: [search('call_b1', 'proxmox 8'), search('call_b2', 'proxmox 9')] },
      { toolCalls: [search('call_b3', 'proxmox 9 release date')] },
      { text: '9 is newer.' },
    ]);
    expect(third.requests).toHaveLength(3);
    expect(third.conversationId).toBe(id);
    const turn2Done = [...turn2, 'assistant: It is based on Debian 13.'];
    const parallel = [
      `user: ${q3}`,
      'assistant:  [call web_search call_b1] [call web_search call_b2]',
      `tool call_b1: ${searchResult('proxmox 8')}`,
      `tool call_b2: ${searchResult('proxmox 9')}`,
    ];
    const again = [
      'assistant:  [call web_search call_b3]',
      `tool call_b3: ${searchResult('proxmox 9 release date')}`,
    ];
    expect(context(fake.requests.at(-2))).toEqual([...turn1, ...turn2Done, ...parallel]);
    expect(context(fake.requests.at(-1))).toEqual([...turn1, ...turn2Done, ...parallel, ...again]);

    // Turn 4: the next user turn after all that.
    const fourth = await ask(q4, [{ text: 'You are welcome.' }]);
    expect(fourth.conversationId).toBe(id);
    const turn3Done = [...parallel, ...again, 'assistant: 9 is newer.'];
    expect(context(fake.requests.at(-1))).toEqual([...turn1, ...turn2Done, ...turn3Done, `user: ${q4}`]);

    const stored = [
      `user: ${q1}`,
      '  assistant: Let me check.[call list_vms call_vms]',
      '    tool: [result call_vms]',
      '      assistant: web is running.',
      `        user: ${q2}`,
      '          assistant: Searching.[call web_search call_a]',
      '            tool: [result call_a]',
      '              assistant: It is based on Debian 13.',
      `                user: ${q3}`,
      '                  assistant: [call web_search call_b1][call web_search call_b2]',
      '                    tool: [result call_b1][result call_b2]',
      '                      assistant: [call web_search call_b3]',
      '                        tool: [result call_b3]',
      '                          assistant: 9 is newer.',
    ];
    expect(await tree(id)).toEqual([
      ...stored,
      `                            user: ${q4}`,
      '                              assistant: You are welcome.',
    ]);

    // Regenerate turn 3's answer: the history up to q3 again, a new attempt with a tool call.
    chat.splice(chat.length - 3);
    const regenerated = await ask(undefined, [
      { toolCalls: [search('call_c', 'proxmox 9 vs 8')] },
      { text: '9, still.' },
    ]);
    expect(regenerated.conversationId).toBe(id);
    expect(context(fake.requests.at(-2))).toEqual([...turn1, ...turn2Done, `user: ${q3}`]);
    expect(context(fake.requests.at(-1))).toEqual([
      ...turn1,
      ...turn2Done,
      `user: ${q3}`,
      'assistant:  [call web_search call_c]',
      `tool call_c: ${searchResult('proxmox 9 vs 8')}`,
    ]);
    // And a turn after the regenerated answer continues that branch.
    await ask(q4, [{ text: 'Any time.' }]);
    expect(context(fake.requests.at(-1))).toEqual([
      ...turn1,
      ...turn2Done,
      `user: ${q3}`,
      'assistant:  [call web_search call_c]',
      `tool call_c: ${searchResult('proxmox 9 vs 8')}`,
      'assistant: 9, still.',
      `user: ${q4}`,
    ]);
    expect(await tree(id)).toEqual([
      ...stored,
      `                            user: ${q4}`,
      '                              assistant: You are welcome.',
      '                  assistant: [call web_search call_c]',
      '                    tool: [result call_c]',
      '                      assistant: 9, still.',
      `                        user: ${q4}`,
      '                          assistant: Any time.',
    ]);
  });
});
