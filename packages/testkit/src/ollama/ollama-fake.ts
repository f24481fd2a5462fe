import { type FakeServer, type RecordedRequest, startFakeServer } from '../fake-server.js';
import { abruptClose, chunks, hang, json, type Reply } from '../replies.js';

/** One tool call the fake model makes. */
export interface OllamaFakeToolCall {
  name: string;
  arguments: Record<string, unknown>;
  /** Sent as `id` when given (current servers send `call_…`; older ones send none). */
  id?: string;
}

/** A scripted answer. */
export interface OllamaFakeScript {
  /** Text pieces, one NDJSON line each. */
  text?: string | string[];
  /** Thinking pieces (`message.thinking`), sent before the text. */
  thinking?: string | string[];
  /** Tool calls, all in one line after the text. */
  toolCalls?: OllamaFakeToolCall[];
  /** Default `stop`. */
  doneReason?: string;
  /** Input tokens (default 26). */
  promptEvalCount?: number;
  /** Output tokens (default 12). */
  evalCount?: number;
  /** Wait before each line, in ms. */
  delayMs?: number;
}

/** Options of {@link startOllamaFake}. */
export interface OllamaFakeOptions {
  /** Pulled models (default `llama3.2:latest`, `qwen3:latest`); a name without a tag means `:latest`. */
  models?: string[];
  /** Models that accept `think` (default `qwen3:latest`); others answer 400 like Ollama. */
  thinkingModels?: string[];
  /**
   * Models without tool support (gemma3, deepseek-r1: default none): a request with `tools` answers
   * 400 "… does not support tools" like Ollama.
   */
  noToolModels?: string[];
  /** Answer when nothing is scripted (default: the text "Hello from the Ollama fake."). */
  defaultScript?: OllamaFakeScript;
}

/** A running fake of Ollama's `/api/chat` and `/api/tags`. */
export interface OllamaFake extends AsyncDisposable {
  /** Pass as `baseURL`: `http://127.0.0.1:<port>`. */
  url: string;
  server: FakeServer;
  requests: RecordedRequest[];
  /** Scripts the next answer. */
  reply(script: OllamaFakeScript): void;
  /** The next request fails with `status` and Ollama's `{"error": message}`. */
  error(status: number, message: string): void;
  /** The next stream sends `script`'s lines without the final one, then an `{"error": …}` line. */
  midStreamError(script: OllamaFakeScript, message: string): void;
  /** The next stream sends `script`'s lines without the final `done: true`, then the socket drops. */
  truncate(script: OllamaFakeScript): void;
  /** The next stream sends `script`'s lines without the final one and ends the body cleanly. */
  endEarly(script: OllamaFakeScript): void;
  /** The next request never gets an answer. */
  hang(): void;
  /** The next request gets any testkit reply. */
  raw(reply: Reply): void;
  /** Requests still being answered (0 after a client aborted means its socket closed). */
  activeRequests(): number;
  close(): Promise<void>;
}

type Scripted =
  | { kind: 'script' | 'truncate' | 'end-early'; script: OllamaFakeScript }
  | { kind: 'error'; status: number; message: string }
  | { kind: 'mid-stream'; script: OllamaFakeScript; message: string }
  | { kind: 'raw'; reply: Reply };

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** `llama3.2` → `llama3.2:latest`. */
function withTag(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

function createdAt(): string {
  return new Date().toISOString().replace('Z', '000Z');
}

/** The NDJSON objects of a script, the last one `done: true` with metrics. */
export function ollamaResponseLines(script: OllamaFakeScript, model: string): Array<Record<string, unknown>> {
  const line = (message: Record<string, unknown>) => ({
    model,
    created_at: createdAt(),
    message: { role: 'assistant', content: '', ...message },
    done: false,
  });
  const lines: Array<Record<string, unknown>> = [];
  for (const thinking of list(script.thinking)) lines.push(line({ thinking }));
  for (const content of list(script.text)) lines.push(line({ content }));
  if (script.toolCalls && script.toolCalls.length > 0) {
    lines.push(
      line({
        tool_calls: script.toolCalls.map((call, index) => ({
          ...(call.id ? { id: call.id } : {}),
          function: { ...(call.id ? { index } : {}), name: call.name, arguments: call.arguments },
        })),
      }),
    );
  }
  lines.push({
    model,
    created_at: createdAt(),
    message: { role: 'assistant', content: '' },
    done_reason: script.doneReason ?? 'stop',
    done: true,
    total_duration: 182_242_375,
    load_duration: 41_295_167,
    prompt_eval_count: script.promptEvalCount ?? 26,
    prompt_eval_duration: 24_573_166,
    eval_count: script.evalCount ?? 12,
    eval_duration: 115_959_084,
  });
  return lines;
}

/** Merges lines into the one object `stream: false` answers with. */
function mergeLines(lines: Array<Record<string, unknown>>): Record<string, unknown> {
  let content = '';
  let thinking = '';
  const toolCalls: unknown[] = [];
  for (const line of lines) {
    const message = line.message as { content?: string; thinking?: string; tool_calls?: unknown[] };
    content += message.content ?? '';
    thinking += message.thinking ?? '';
    toolCalls.push(...(message.tool_calls ?? []));
  }
  const last = lines.at(-1) ?? {};
  return {
    ...last,
    message: {
      role: 'assistant',
      content,
      ...(thinking ? { thinking } : {}),
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
    },
  };
}

function encode(lines: Array<Record<string, unknown>>): string[] {
  return lines.map((line) => `${JSON.stringify(line)}\n`);
}

/**
 * Starts a fake Ollama server on 127.0.0.1: `POST /api/chat` (NDJSON or, with `stream: false`, one
 * JSON object), `GET /api/tags`, `GET /api/version`, with Ollama's errors for unknown models and
 * malformed bodies.
 *
 * @example
 * const ollama = await startOllamaFake();
 * ollama.reply({ text: ['Hel', 'lo'], promptEvalCount: 3, evalCount: 2 });
 * await fetch(`${ollama.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'llama3.2', messages: [] }) });
 * await ollama.close();
 */
export async function startOllamaFake(options: OllamaFakeOptions = {}): Promise<OllamaFake> {
  const models = (options.models ?? ['llama3.2:latest', 'qwen3:latest']).map(withTag);
  const thinkingModels = new Set((options.thinkingModels ?? ['qwen3:latest']).map(withTag));
  const noToolModels = new Set((options.noToolModels ?? []).map(withTag));
  const queue: Scripted[] = [];
  const server = await startFakeServer();

  server.respond(
    'GET',
    '/api/tags',
    json({
      models: models.map((name) => ({
        name,
        model: name,
        modified_at: '2025-07-07T20:22:19.184789Z',
        size: 2_019_393_189,
        digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
        details: {
          parent_model: '',
          format: 'gguf',
          family: name.split(/[.:\d]/)[0] ?? 'llama',
          families: [name.split(/[.:\d]/)[0] ?? 'llama'],
          parameter_size: '3.2B',
          quantization_level: 'Q4_K_M',
        },
      })),
    }),
  );
  server.respond('GET', '/api/version', json({ version: '0.12.6' }));
  server.route('POST', '/api/chat', (request) => {
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(request.body);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return json(
          { error: 'json: cannot unmarshal array into Go value of type api.ChatRequest' },
          { status: 400 },
        );
      }
      body = parsed as Record<string, unknown>;
    } catch (error) {
      return json({ error: goJsonError(request.body, error as Error) }, { status: 400 });
    }
    if (typeof body.model !== 'string' || body.model === '')
      return json({ error: 'model is required' }, { status: 400 });
    const invalid = validateMessages(body.messages);
    if (invalid) return json({ error: invalid }, { status: 400 });
    const model = withTag(body.model);
    if (!models.includes(model)) return json({ error: `model '${body.model}' not found` }, { status: 404 });
    if (body.think !== undefined && body.think !== false && !thinkingModels.has(model)) {
      return json({ error: `"${body.model}" does not support thinking` }, { status: 400 });
    }
    if (Array.isArray(body.tools) && body.tools.length > 0 && noToolModels.has(model)) {
      return json({ error: `registry.ollama.ai/library/${model} does not support tools` }, { status: 400 });
    }
    const next: Scripted = queue.shift() ?? {
      kind: 'script',
      script: options.defaultScript ?? { text: 'Hello from the Ollama fake.' },
    };
    if (next.kind === 'raw') return next.reply;
    if (next.kind === 'error') return json({ error: next.message }, { status: next.status });
    const script = next.script;
    const lines = ollamaResponseLines(script, body.model);
    const stream = body.stream !== false;
    if (!stream) {
      if (next.kind === 'mid-stream') return json({ error: next.message }, { status: 500 });
      return json(mergeLines(lines));
    }
    const partial = lines.slice(0, -1);
    if (next.kind === 'truncate') {
      return abruptClose(encode(partial), {
        contentType: 'application/x-ndjson',
        delayMs: script.delayMs ?? 0,
      });
    }
    const written =
      next.kind === 'mid-stream'
        ? [...encode(partial), `${JSON.stringify({ error: next.message })}\n`]
        : encode(next.kind === 'end-early' ? partial : lines);
    return chunks(written, { contentType: 'application/x-ndjson', delayMs: script.delayMs ?? 0 });
  });

  const fake: OllamaFake = {
    url: server.url,
    server,
    requests: server.requests,
    reply: (script) => queue.push({ kind: 'script', script }),
    error: (status, message) => queue.push({ kind: 'error', status, message }),
    midStreamError: (script, message) => queue.push({ kind: 'mid-stream', script, message }),
    truncate: (script) => queue.push({ kind: 'truncate', script }),
    endEarly: (script) => queue.push({ kind: 'end-early', script }),
    hang: () => queue.push({ kind: 'raw', reply: hang() }),
    raw: (reply) => queue.push({ kind: 'raw', reply }),
    activeRequests: () => server.activeRequests(),
    close: () => server.close(),
    [Symbol.asyncDispose]: () => server.close(),
  };
  return fake;
}

/** Ollama's complaint about `messages`, or `undefined` when they are acceptable. */
function validateMessages(messages: unknown): string | undefined {
  if (messages === undefined) return undefined;
  if (!Array.isArray(messages)) {
    return `json: cannot unmarshal ${typeof messages} into Go struct field ChatRequest.messages of type []api.Message`;
  }
  for (const message of messages as Array<Record<string, unknown>>) {
    if (typeof message !== 'object' || message === null) {
      return 'json: cannot unmarshal value into Go struct field ChatRequest.messages of type api.Message';
    }
    if (!ROLES.has(String(message.role))) return `invalid role: ${String(message.role)}`;
    if (message.content !== undefined && typeof message.content !== 'string') {
      return 'json: cannot unmarshal value into Go struct field Message.messages.content of type string';
    }
    if (message.images !== undefined && !Array.isArray(message.images)) {
      return 'json: cannot unmarshal value into Go struct field Message.messages.images of type []api.ImageData';
    }
    const calls = message.tool_calls as Array<{ function?: { arguments?: unknown } }> | undefined;
    for (const call of calls ?? []) {
      const args = call.function?.arguments;
      if (args !== undefined && (typeof args !== 'object' || Array.isArray(args) || args === null)) {
        return 'json: cannot unmarshal string into Go struct field ToolCallFunction.messages.tool_calls.function.arguments of type api.ToolCallFunctionArguments';
      }
    }
  }
  return undefined;
}

/** Roughly what Go's encoding/json says about a body that is not JSON. */
function goJsonError(body: string, error: Error): string {
  if (body.trim() === '') return 'unexpected end of JSON input';
  const position = Number(/position (\d+)/.exec(error.message)?.[1] ?? 0);
  const character = body[position];
  if (character === undefined) return 'unexpected end of JSON input';
  const before = body.slice(0, position).trimEnd().at(-1);
  const expected = before === '{' || before === ',' ? 'beginning of object key string' : 'beginning of value';
  return `invalid character '${character}' looking for ${expected}`;
}
