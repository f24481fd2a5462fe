import { type FakeServer, type RecordedRequest, startFakeServer } from '../fake-server.js';
import {
  abruptClose,
  encodeSseEvent,
  hang,
  hangUp,
  json,
  type Reply,
  type SseEvent,
  sse,
  text,
} from '../replies.js';
import {
  closingChunks,
  completionBody,
  type OpenAIScript,
  openAIErrorBody,
  type ScriptContext,
  streamChunks,
} from './openai-script.js';

/** A recorded `POST /v1/chat/completions` that passed validation. */
export interface OpenAIChatRequest {
  /** The parsed JSON body (`model`, `messages`, `tools`, `stream`, …). */
  body: OpenAIChatBody;
  /** Lower-cased request headers. */
  headers: Record<string, string | string[] | undefined>;
  /** The bearer token sent. */
  apiKey: string;
  /** The raw recorded request. */
  raw: RecordedRequest;
}

/** The fields of a chat completions body the fake looks at; everything else is kept as sent. */
export interface OpenAIChatBody {
  model: string;
  messages: Array<Record<string, unknown>>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [field: string]: unknown;
}

/** Decides a reply from the request. */
export type OpenAIScriptFunction = (request: OpenAIChatRequest, index: number) => OpenAIScript;

/** Options of {@link startOpenAIFake}. */
export interface OpenAIFakeOptions {
  /** Keys accepted as `Authorization: Bearer <key>`; default any non-empty key. */
  apiKeys?: string[];
  /** Models on `GET /v1/models`; when given, other models get OpenAI's 404 `model_not_found`. */
  models?: string[];
  /** The reply when nothing is queued (default `{}`: "Hello from the fake."). */
  reply?: OpenAIScript | OpenAIScriptFunction;
  /** Serve https with the testkit certificate. */
  tls?: boolean;
  /**
   * The most completion tokens a model allows: a larger `max_tokens` or `max_completion_tokens` is
   * refused with OpenAI's 400 that names the maximum (default {@link openAIMaxOutputTokens};
   * undefined allows any).
   */
  maxOutputTokens?: (model: string) => number | undefined;
}

/** Completion token maximums of OpenAI models, as OpenAI's model pages list them. */
const MAX_OUTPUT_TOKENS: ReadonlyArray<readonly [RegExp, number]> = [
  [/^gpt-3\.5-turbo/, 4096],
  [/^gpt-4-(turbo|\d{4}-preview)/, 4096],
  [/^gpt-4o/, 16384],
  [/^gpt-4\.1/, 32768],
  [/^o\d/, 100000],
  [/^gpt-5/, 128000],
];

/** The maximum completion tokens of an OpenAI model, or undefined for a model the table does not know. */
export function openAIMaxOutputTokens(model: string): number | undefined {
  return MAX_OUTPUT_TOKENS.find(([pattern]) => pattern.test(model))?.[1];
}

/** A running OpenAI fake. */
export interface OpenAIFake extends AsyncDisposable {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** `http://127.0.0.1:<port>/v1`: pass as the SDK's `baseURL`. */
  baseURL: string;
  /** Valid chat completion requests, oldest first (rejected ones are only in `server.requests`). */
  requests: OpenAIChatRequest[];
  /** Queues replies for the next chat completion requests, in order; they win over `reply`. */
  enqueue(...scripts: OpenAIScript[]): void;
  /** Replaces the default reply. */
  setReply(reply: OpenAIScript | OpenAIScriptFunction): void;
  /** Requests whose connection is still open: 0 after a client aborted means its socket closed. */
  activeRequests(): number;
  /** Forgets requests and queued replies. */
  reset(): void;
  /** The underlying fake server (every raw request, extra routes). */
  server: FakeServer;
  close(): Promise<void>;
}

const CHAT_PATH = /^(\/v1)?\/chat\/completions\/?$/;
const MODELS_PATH = /^(\/v1)?\/models\/?$/;

function envelope(
  status: number,
  message: string,
  fields: { type?: string; code?: string | null; param?: string | null } = {},
) {
  return json(
    {
      error: {
        message,
        type: fields.type ?? 'invalid_request_error',
        param: fields.param ?? null,
        code: fields.code ?? null,
      },
    },
    { status },
  );
}

/**
 * Models that take `max_completion_tokens` only (o-series, gpt-5): they reject `max_tokens`, and a
 * `temperature` or `top_p` other than the default 1, and any penalty.
 */
const REASONING_MODEL = /^(o\d|gpt-5)/;

/** The efforts reasoning models take (o-series no `minimal`, gpt-5 no `none`, gpt-5.1 no `minimal`). */
const MODEL_EFFORTS: ReadonlyArray<readonly [RegExp, readonly string[]]> = [
  [/^o\d/, ['low', 'medium', 'high']],
  [/^gpt-5\.\d/, ['none', 'low', 'medium', 'high']],
  [/^gpt-5(?!-chat)/, ['minimal', 'low', 'medium', 'high']],
];

/** "'low', 'medium', and 'high'", as OpenAI lists values. */
function listValues(values: readonly string[]): string {
  const quoted = values.map((value) => `'${value}'`);
  return quoted.length < 2 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')}, and ${quoted.at(-1)}`;
}

/** Reasoning models that take no `stop` (gpt-5, gpt-5-mini, gpt-5-nano, the o-series). */
const NO_STOP_MODEL = /^(o\d|gpt-5(-mini|-nano)?(-\d{4}|$))/;

/** Models that do not reason (gpt-4o, gpt-4.1, gpt-5-chat): they reject `reasoning_effort`. */
const NON_REASONING_MODEL = /^(gpt-3\.5|gpt-4|chatgpt-|gpt-5-chat)/;

/**
 * OpenAI's tool-message rules: every `tool` message answers a `tool_calls` id of the assistant
 * message before it, and every such id is answered before the next non-tool message.
 */
function checkToolMessages(messages: unknown[]): Reply | undefined {
  let open: string[] | undefined;
  let openAt = 0;
  const unanswered = (at: number) =>
    envelope(
      400,
      `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${open?.join(', ')}`,
      { param: `messages.[${at}].role` },
    );
  for (const [index, message] of messages.entries()) {
    const fields = (typeof message === 'object' && message !== null ? message : {}) as Record<
      string,
      unknown
    >;
    if (fields.role === 'tool') {
      const id = fields.tool_call_id;
      if (!open || typeof id !== 'string' || !open.includes(id)) {
        return envelope(
          400,
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          { param: `messages.[${index}].role` },
        );
      }
      open = open.filter((item) => item !== id);
      continue;
    }
    if (open && open.length > 0) return unanswered(openAt);
    open = undefined;
    if (fields.role === 'assistant' && Array.isArray(fields.tool_calls) && fields.tool_calls.length > 0) {
      open = fields.tool_calls.map((call) => String((call as { id?: unknown }).id));
      openAt = index;
    }
  }
  if (open && open.length > 0) return unanswered(openAt);
  return undefined;
}

function maskKey(key: string): string {
  return key.length <= 8 ? '***' : `${key.slice(0, 3)}***${key.slice(-4)}`;
}

/**
 * Starts a wire-faithful fake of OpenAI's `POST /v1/chat/completions` (SSE when `stream: true`,
 * JSON otherwise) and `GET /v1/models` on 127.0.0.1. It rejects what OpenAI rejects (no or a wrong
 * bearer key: 401; malformed JSON, no `model`, no `messages`: 400; an unknown model: 404) with
 * OpenAI's error envelope, and answers with scripted replies.
 *
 * @example
 * const fake = await startOpenAIFake();
 * fake.enqueue({ text: 'Hi!' }, { toolCalls: [{ name: 'list_vms', arguments: { node: 'pve1' } }] });
 * const client = new OpenAI({ apiKey: 'sk-test', baseURL: fake.baseURL });
 * fake.requests[0]?.body.messages;
 * await fake.close();
 */
export async function startOpenAIFake(options: OpenAIFakeOptions = {}): Promise<OpenAIFake> {
  const server = await startFakeServer({ tls: options.tls });
  const queue: OpenAIScript[] = [];
  const requests: OpenAIChatRequest[] = [];
  let reply: OpenAIScript | OpenAIScriptFunction = options.reply ?? {};
  let counter = 0;

  function authenticate(request: RecordedRequest): { key: string } | { reject: Reply } {
    const header = request.headers.authorization;
    const value = Array.isArray(header) ? header[0] : header;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(value ?? '');
    if (!match?.[1]) {
      return {
        reject: envelope(
          401,
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        ),
      };
    }
    const key = match[1];
    if (options.apiKeys && !options.apiKeys.includes(key)) {
      return {
        reject: envelope(
          401,
          `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
          { code: 'invalid_api_key' },
        ),
      };
    }
    return { key };
  }

  server.route('GET', MODELS_PATH, (request) => {
    const auth = authenticate(request);
    if ('reject' in auth) return auth.reject;
    return json({
      object: 'list',
      data: (options.models ?? ['gpt-4o-mini']).map((id) => ({
        id,
        object: 'model',
        created: 1_715_367_049,
        owned_by: 'system',
      })),
    });
  });

  server.route('POST', CHAT_PATH, (request) => {
    const auth = authenticate(request);
    if ('reject' in auth) return auth.reject;
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      return envelope(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
      );
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return envelope(400, "Invalid type for 'body': expected an object.", { code: 'invalid_type' });
    }
    const fields = body as Record<string, unknown>;
    if (typeof fields.model !== 'string' || fields.model === '') {
      return envelope(400, 'you must provide a model parameter');
    }
    if (fields.messages === undefined) {
      return envelope(400, "Missing required parameter: 'messages'.", {
        param: 'messages',
        code: 'missing_required_parameter',
      });
    }
    if (!Array.isArray(fields.messages)) {
      return envelope(400, "Invalid type for 'messages': expected an array.", {
        param: 'messages',
        code: 'invalid_type',
      });
    }
    if (fields.messages.length === 0) {
      return envelope(
        400,
        "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
        { param: 'messages', code: 'empty_array' },
      );
    }
    const misordered = checkToolMessages(fields.messages);
    if (misordered) return misordered;
    if (fields.max_tokens !== undefined && REASONING_MODEL.test(fields.model)) {
      return envelope(
        400,
        "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
        { param: 'max_tokens', code: 'unsupported_parameter' },
      );
    }
    for (const name of ['max_tokens', 'max_completion_tokens'] as const) {
      const asked = fields[name];
      const maximum = (options.maxOutputTokens ?? openAIMaxOutputTokens)(fields.model);
      if (typeof asked === 'number' && maximum !== undefined && asked > maximum) {
        return envelope(
          400,
          `${name} is too large: ${asked}. This model supports at most ${maximum} completion tokens, whereas you provided ${asked}.`,
          { param: name, code: 'invalid_value' },
        );
      }
    }
    if (fields.reasoning_effort != null && NON_REASONING_MODEL.test(fields.model)) {
      return envelope(400, "Unsupported parameter: 'reasoning_effort' is not supported with this model.", {
        param: 'reasoning_effort',
        code: 'unsupported_parameter',
      });
    }
    if (fields.stop != null && NO_STOP_MODEL.test(fields.model)) {
      return envelope(400, "Unsupported parameter: 'stop' is not supported with this model.", {
        param: 'stop',
        code: 'unsupported_parameter',
      });
    }
    const efforts = MODEL_EFFORTS.find(([pattern]) => pattern.test(String(fields.model)))?.[1];
    if (
      typeof fields.reasoning_effort === 'string' &&
      efforts &&
      !efforts.includes(fields.reasoning_effort)
    ) {
      return envelope(
        400,
        `Unsupported value: 'reasoning_effort' does not support '${fields.reasoning_effort}' with this model. Supported values are: ${listValues(efforts)}.`,
        { param: 'reasoning_effort', code: 'unsupported_value' },
      );
    }
    if (REASONING_MODEL.test(fields.model) && !NON_REASONING_MODEL.test(fields.model)) {
      // Reasoning models sample at their own settings: any other value is refused.
      for (const name of ['temperature', 'top_p'] as const) {
        const value = fields[name];
        if (value !== undefined && value !== 1) {
          return envelope(
            400,
            `Unsupported value: '${name}' does not support ${String(value)} with this model. Only the default (1) value is supported.`,
            { param: name, code: 'unsupported_value' },
          );
        }
      }
      for (const name of ['frequency_penalty', 'presence_penalty'] as const) {
        if (fields[name] !== undefined) {
          return envelope(400, `Unsupported parameter: '${name}' is not supported with this model.`, {
            param: name,
            code: 'unsupported_parameter',
          });
        }
      }
    }
    if (options.models && !options.models.includes(fields.model)) {
      return envelope(404, `The model \`${fields.model}\` does not exist or you do not have access to it.`, {
        code: 'model_not_found',
      });
    }
    const recorded: OpenAIChatRequest = {
      body: fields as OpenAIChatBody,
      headers: request.headers,
      apiKey: auth.key,
      raw: request,
    };
    const index = counter++;
    requests.push(recorded);
    const script = queue.shift() ?? (typeof reply === 'function' ? reply(recorded, index) : reply);
    return replyFor(script, recorded.body, index);
  });

  function replyFor(script: OpenAIScript, body: OpenAIChatBody, index: number): Reply {
    const requestId = { 'x-request-id': `req_fake${index}` };
    if (script.hangUp) return hangUp();
    if (script.hang) return hang();
    if (script.error) {
      const error = script.error;
      return json(openAIErrorBody(error), {
        status: error.status,
        headers: { ...requestId, ...error.headers },
      });
    }
    const context: ScriptContext = {
      model: body.model,
      index,
      created: Math.floor(Date.now() / 1000),
      includeUsage: body.stream_options?.include_usage === true,
    };
    const timing = {
      delayMs: script.delayMs,
      firstDelayMs: script.firstDelayMs,
      headers: { ...requestId, ...script.headers },
    };
    if (body.stream !== true) {
      const send = json(completionBody(script, { ...context, includeUsage: true }), {
        headers: timing.headers,
      });
      return async (response, replyContext) => {
        const wait = script.firstDelayMs ?? script.delayMs ?? 0;
        if (wait > 0) await replyContext.delay(wait);
        if (!replyContext.signal.aborted) await send(response, replyContext);
      };
    }
    const events: SseEvent[] = streamChunks(script, context).map((data) => ({ data }));
    if (script.truncate) {
      return abruptClose(events.map(encodeSseEvent), { ...timing, contentType: 'text/event-stream' });
    }
    if (script.midStreamError) {
      const error = script.midStreamError;
      events.push({
        data: {
          error: {
            message: error.message,
            type: error.type ?? 'server_error',
            param: null,
            code: error.code ?? null,
          },
        },
      });
      return sse(events, timing);
    }
    for (const data of closingChunks(script, context)) events.push({ data });
    events.push({ data: '[DONE]' });
    if (script.coalesce) {
      return text(events.map(encodeSseEvent).join(''), {
        contentType: 'text/event-stream',
        headers: { 'cache-control': 'no-cache', ...timing.headers },
      });
    }
    return sse(events, timing);
  }

  const fake: OpenAIFake = {
    url: server.url,
    baseURL: `${server.url}/v1`,
    requests,
    enqueue(...scripts) {
      queue.push(...scripts);
    },
    setReply(next) {
      reply = next;
    },
    activeRequests: () => server.activeRequests(),
    reset() {
      queue.length = 0;
      requests.length = 0;
      server.reset();
    },
    server,
    close: () => server.close(),
    [Symbol.asyncDispose]: () => server.close(),
  };
  return fake;
}
