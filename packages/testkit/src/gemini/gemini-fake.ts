import { type FakeServer, type RecordedRequest, startFakeServer } from '../fake-server.js';
import { abruptClose, chunks, encodeSseEvent, hang, json, type Reply, text } from '../replies.js';

/** One function call the fake model makes. */
export interface GeminiFakeToolCall {
  name: string;
  args: Record<string, unknown>;
  /** Sent as `functionCall.id` when given (the Developer API usually sends none). */
  id?: string;
  /** Sent as the part's `thoughtSignature` when given. */
  thoughtSignature?: string;
}

/** A scripted answer: what the fake model "says". */
export interface GeminiFakeScript {
  /** Text pieces, one stream chunk each. */
  text?: string | string[];
  /** Thought summaries (parts with `thought: true`), sent before the text. */
  thoughts?: string | string[];
  /** Function calls, sent whole in one chunk after the text. */
  toolCalls?: GeminiFakeToolCall[];
  /** Default `STOP`; `null` leaves it out (a stream that ends without finishing). */
  finishReason?: string | null;
  /** Sets `promptFeedback.blockReason` and sends no candidates. */
  blockReason?: string;
  usage?: {
    promptTokenCount?: number;
    candidatesTokenCount?: number;
    thoughtsTokenCount?: number;
    cachedContentTokenCount?: number;
  };
  /** Wait before each chunk, in ms. */
  delayMs?: number;
  /** Default `resp-<n>`. */
  responseId?: string;
}

/** Google's error body fields. */
export interface GoogleErrorBody {
  code: number;
  message: string;
  status: string;
  details?: Array<Record<string, unknown>>;
}

/** Options of {@link startGeminiFake}. */
export interface GeminiFakeOptions {
  /** The key requests must carry in `x-goog-api-key` or `?key=` (default `test-gemini-key`). */
  apiKey?: string;
  /** Model ids it knows; others get Google's 404 (default: a few current Gemini models). */
  models?: string[];
  /** Answer when nothing is scripted (default: the text "Hello from the Gemini fake."). */
  defaultScript?: GeminiFakeScript;
}

/** A running fake of the Gemini Developer API (generateContent and streamGenerateContent?alt=sse). */
export interface GeminiFake extends AsyncDisposable {
  /** Pass as `baseURL`: `http://127.0.0.1:<port>`. */
  url: string;
  apiKey: string;
  /** The underlying fake server (raw routes, `openConnections()`, …). */
  server: FakeServer;
  /** Every request received, oldest first. */
  requests: RecordedRequest[];
  /** Scripts the next answer. */
  reply(script: GeminiFakeScript): void;
  /** The next request fails with an HTTP error in Google's shape (`status` from the code if left out). */
  error(code: number, options?: Partial<Omit<GoogleErrorBody, 'code'>>): void;
  /** The next stream sends `script` then an in-stream `data: {"error": …}` frame. */
  midStreamError(script: GeminiFakeScript, error: GoogleErrorBody): void;
  /** The next stream sends `script`'s chunks (without the finishing one) and the socket drops. */
  truncate(script: GeminiFakeScript): void;
  /** The next request never gets an answer. */
  hang(): void;
  /** The next request gets any testkit reply. */
  raw(reply: Reply): void;
  /** Requests still being answered (0 after a client aborted means its socket closed). */
  activeRequests(): number;
  close(): Promise<void>;
}

/** Google's canonical status names by HTTP code. */
export const GOOGLE_STATUS_BY_CODE: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'NOT_IMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

const DEFAULT_MODELS = [
  'gemini-2.0-flash',
  'gemini-2.5-flash',
  'gemini-2.5-pro',
  'gemini-3-pro-preview',
  'gemini-flash-latest',
];

/** Models that think: 2.5 and later (the 2.0 and 1.5 models have no thinking). */
const THINKING_MODEL = /gemini-(2\.5|[3-9])|-latest$/;
/** Models whose thinking cannot be turned off (a budget of 0). */
const ALWAYS_THINKING_MODEL = /gemini-2\.5-pro|gemini-[3-9][^/]*-pro/;

/**
 * What Google answers (400) to a thinking budget the model cannot take: any budget on a model
 * without thinking, a budget of 0 on one whose thinking cannot be turned off.
 */
function thinkingRefusal(model: string, generationConfig: unknown): string | undefined {
  const thinking = (generationConfig as { thinkingConfig?: { thinkingBudget?: unknown } } | undefined)
    ?.thinkingConfig;
  if (thinking?.thinkingBudget === undefined) return undefined;
  if (!THINKING_MODEL.test(model)) {
    return 'Unable to submit request because thinking is not supported by this model. Learn more: https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/gemini';
  }
  if (thinking.thinkingBudget === 0 && ALWAYS_THINKING_MODEL.test(model)) {
    return "Unable to submit request because Thinking can't be disabled for this model.";
  }
  return undefined;
}

/** Output token maximums of Gemini models, as Google's model pages list them. */
const MAX_OUTPUT_TOKENS: ReadonlyArray<readonly [RegExp, number]> = [
  [/gemini-(1\.5|2\.0)/, 8192],
  [/gemini-(2\.5|[3-9])|-latest$/, 65_536],
];

/** The most output tokens a Gemini model allows, or undefined for a model the table does not know. */
export function geminiMaxOutputTokens(model: string): number | undefined {
  return MAX_OUTPUT_TOKENS.find(([pattern]) => pattern.test(model))?.[1];
}

/** What Google answers (400) to a `maxOutputTokens` above the model's maximum. */
function outputLimitRefusal(model: string, generationConfig: unknown): string | undefined {
  const asked = (generationConfig as { maxOutputTokens?: unknown } | undefined)?.maxOutputTokens;
  const maximum = geminiMaxOutputTokens(model);
  if (typeof asked !== 'number' || maximum === undefined || asked <= maximum) return undefined;
  return `Unable to submit request because it has a maxOutputTokens value of ${asked} but the supported range is from 1 (inclusive) to ${maximum + 1} (exclusive). Update the value and try again.`;
}

const PATH = /^\/(v1|v1beta|v1alpha)\/models\/([^/:]+):(generateContent|streamGenerateContent)$/;
const ROLES = new Set(['user', 'model']);

type Scripted =
  | { kind: 'script'; script: GeminiFakeScript }
  | { kind: 'error'; body: GoogleErrorBody }
  | { kind: 'mid-stream'; script: GeminiFakeScript; body: GoogleErrorBody }
  | { kind: 'truncate'; script: GeminiFakeScript }
  | { kind: 'raw'; reply: Reply };

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** Builds the `GenerateContentResponse` chunks of a script, the last one carrying `finishReason`. */
export function geminiResponseChunks(
  script: GeminiFakeScript,
  modelVersion: string,
  responseId: string,
): Array<Record<string, unknown>> {
  const usage = script.usage ?? {};
  const prompt = usage.promptTokenCount ?? 7;
  const candidates = usage.candidatesTokenCount ?? 5;
  const running = { promptTokenCount: prompt, totalTokenCount: prompt };
  const finalUsage: Record<string, unknown> = {
    promptTokenCount: prompt,
    candidatesTokenCount: candidates,
    totalTokenCount: prompt + candidates + (usage.thoughtsTokenCount ?? 0),
  };
  if (usage.thoughtsTokenCount !== undefined) finalUsage.thoughtsTokenCount = usage.thoughtsTokenCount;
  if (usage.cachedContentTokenCount !== undefined) {
    finalUsage.cachedContentTokenCount = usage.cachedContentTokenCount;
  }
  const common = { modelVersion, responseId };
  if (script.blockReason) {
    return [{ promptFeedback: { blockReason: script.blockReason }, usageMetadata: running, ...common }];
  }
  const partGroups: Array<Array<Record<string, unknown>>> = [];
  for (const thought of list(script.thoughts)) partGroups.push([{ text: thought, thought: true }]);
  for (const piece of list(script.text)) partGroups.push([{ text: piece }]);
  if (script.toolCalls && script.toolCalls.length > 0) {
    partGroups.push(
      script.toolCalls.map((call) => ({
        functionCall: { ...(call.id ? { id: call.id } : {}), name: call.name, args: call.args },
        ...(call.thoughtSignature ? { thoughtSignature: call.thoughtSignature } : {}),
      })),
    );
  }
  if (partGroups.length === 0) partGroups.push([{ text: '' }]);
  return partGroups.map((parts, index) => {
    const last = index === partGroups.length - 1;
    const candidate: Record<string, unknown> = { content: { parts, role: 'model' }, index: 0 };
    if (last && script.finishReason !== null) candidate.finishReason = script.finishReason ?? 'STOP';
    return { candidates: [candidate], usageMetadata: last ? finalUsage : running, ...common };
  });
}

/** Merges chunks into one non-streaming response (parts of one kind joined as the real API does). */
function mergeChunks(chunkList: Array<Record<string, unknown>>): Record<string, unknown> {
  const last = chunkList.at(-1) ?? {};
  if (!('candidates' in last)) return last;
  const parts: Array<Record<string, unknown>> = [];
  for (const chunk of chunkList) {
    const candidate = (chunk.candidates as Array<{ content: { parts: Array<Record<string, unknown>> } }>)[0];
    for (const part of candidate?.content.parts ?? []) {
      const previous = parts.at(-1);
      const mergeable =
        previous &&
        typeof previous.text === 'string' &&
        typeof part.text === 'string' &&
        Boolean(previous.thought) === Boolean(part.thought);
      if (mergeable) previous.text = `${previous.text as string}${part.text as string}`;
      else parts.push({ ...part });
    }
  }
  const lastCandidate = (last.candidates as Array<Record<string, unknown>>)[0] ?? {};
  return { ...last, candidates: [{ ...lastCandidate, content: { parts, role: 'model' } }] };
}

function errorBody(body: GoogleErrorBody): { error: GoogleErrorBody } {
  return { error: body };
}

function errorReply(body: GoogleErrorBody, stream: boolean): Reply {
  // The real API answers a failed stream request with a plain JSON body but an event-stream type.
  if (stream) {
    return text(JSON.stringify(errorBody(body)), { status: body.code, contentType: 'text/event-stream' });
  }
  return json(errorBody(body), {
    status: body.code,
    headers: { 'content-type': 'application/json; charset=UTF-8' },
  });
}

/**
 * Starts a fake Gemini Developer API on 127.0.0.1. It checks the key (`x-goog-api-key` or `?key=`),
 * the model and the body the way Google does, and answers with scripted replies.
 *
 * @example
 * const gemini = await startGeminiFake();
 * gemini.reply({ text: ['Hel', 'lo'], usage: { promptTokenCount: 3, candidatesTokenCount: 2 } });
 * // new GoogleGenAI({ apiKey: gemini.apiKey, httpOptions: { baseUrl: gemini.url } })
 * await gemini.close();
 */
export async function startGeminiFake(options: GeminiFakeOptions = {}): Promise<GeminiFake> {
  const apiKey = options.apiKey ?? 'test-gemini-key';
  const models = new Set(options.models ?? DEFAULT_MODELS);
  const queue: Scripted[] = [];
  const server = await startFakeServer();
  let responses = 0;

  server.route('POST', PATH, (request) => {
    const match = PATH.exec(request.path) as RegExpExecArray;
    const [, version, model = '', method] = match;
    const stream = method === 'streamGenerateContent';
    if (stream && request.query.get('alt') !== 'sse') {
      // Without alt=sse the real API streams a JSON array; the SDK always asks for SSE.
      return errorReply(
        {
          code: 400,
          message: 'This fake only serves streamGenerateContent with alt=sse.',
          status: 'INVALID_ARGUMENT',
        },
        false,
      );
    }
    const header = request.headers['x-goog-api-key'];
    const given = (Array.isArray(header) ? header[0] : header) ?? request.query.get('key') ?? undefined;
    if (!given) {
      return errorReply(
        {
          code: 403,
          message:
            "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
          status: 'PERMISSION_DENIED',
        },
        stream,
      );
    }
    if (given !== apiKey) {
      return errorReply(
        {
          code: 400,
          message: 'API key not valid. Please pass a valid API key.',
          status: 'INVALID_ARGUMENT',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'API_KEY_INVALID',
              domain: 'googleapis.com',
              metadata: { service: 'generativelanguage.googleapis.com' },
            },
          ],
        },
        stream,
      );
    }
    const invalid = validateBody(request.body);
    if (invalid) return errorReply({ code: 400, message: invalid, status: 'INVALID_ARGUMENT' }, stream);
    if (!models.has(model)) {
      return errorReply(
        {
          code: 404,
          message: `models/${model} is not found for API version ${version}, or is not supported for ${method}. Call ListModels to see the list of available models and their supported methods.`,
          status: 'NOT_FOUND',
        },
        stream,
      );
    }
    const { generationConfig } = request.json<{ generationConfig?: unknown }>();
    const refusal = outputLimitRefusal(model, generationConfig) ?? thinkingRefusal(model, generationConfig);
    if (refusal) return errorReply({ code: 400, message: refusal, status: 'INVALID_ARGUMENT' }, stream);
    const next: Scripted = queue.shift() ?? {
      kind: 'script',
      script: options.defaultScript ?? { text: 'Hello from the Gemini fake.' },
    };
    if (next.kind === 'raw') return next.reply;
    if (next.kind === 'error') return errorReply(next.body, stream);
    responses++;
    const script = next.script;
    const frames = geminiResponseChunks(script, model, script.responseId ?? `resp-${responses}`);
    if (!stream) {
      if (next.kind !== 'script')
        return errorReply(next.kind === 'mid-stream' ? next.body : internal(), false);
      return json(mergeChunks(frames));
    }
    if (next.kind === 'truncate') {
      const kept = frames.length > 1 ? frames.slice(0, -1) : frames.map(withoutFinish);
      return abruptClose(
        kept.map((frame) => encodeSseEvent({ data: frame })),
        { contentType: 'text/event-stream', delayMs: script.delayMs ?? 0 },
      );
    }
    const events =
      next.kind === 'mid-stream'
        ? [
            ...frames.map((frame) => encodeSseEvent({ data: withoutFinish(frame) })),
            encodeSseEvent({ data: errorBody(next.body) }),
          ]
        : frames.map((frame) => encodeSseEvent({ data: frame }));
    return chunks(events, {
      contentType: 'text/event-stream',
      headers: { 'content-disposition': 'attachment' },
      delayMs: script.delayMs ?? 0,
    });
  });

  const fake: GeminiFake = {
    url: server.url,
    apiKey,
    server,
    requests: server.requests,
    reply: (script) => queue.push({ kind: 'script', script }),
    error: (code, body = {}) =>
      queue.push({
        kind: 'error',
        body: {
          code,
          message: body.message ?? `Scripted error ${code}.`,
          status: body.status ?? GOOGLE_STATUS_BY_CODE[code] ?? 'UNKNOWN',
          ...(body.details ? { details: body.details } : {}),
        },
      }),
    midStreamError: (script, body) => queue.push({ kind: 'mid-stream', script, body }),
    truncate: (script) => queue.push({ kind: 'truncate', script }),
    hang: () => queue.push({ kind: 'raw', reply: hang() }),
    raw: (reply) => queue.push({ kind: 'raw', reply }),
    activeRequests: () => server.activeRequests(),
    close: () => server.close(),
    [Symbol.asyncDispose]: () => server.close(),
  };
  return fake;
}

function internal(): GoogleErrorBody {
  return { code: 500, message: 'Internal error encountered.', status: 'INTERNAL' };
}

function withoutFinish(frame: Record<string, unknown>): Record<string, unknown> {
  const candidates = frame.candidates as Array<Record<string, unknown>> | undefined;
  if (!candidates) return frame;
  return {
    ...frame,
    candidates: candidates.map(({ finishReason: _finishReason, ...rest }) => rest),
  };
}

/** Google's complaint about a body, or `undefined` when it is acceptable. */
function validateBody(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return `Invalid JSON payload received. Unexpected token.\n${body.slice(0, 20)}\n^`;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'Invalid JSON payload received. Expected an object.';
  }
  const contents = (parsed as { contents?: unknown }).contents;
  if (!Array.isArray(contents) || contents.length === 0) {
    return '* GenerateContentRequest.contents: contents is not specified\n';
  }
  for (const [index, content] of contents.entries()) {
    const { role, parts } = (content ?? {}) as { role?: unknown; parts?: unknown };
    if (role !== undefined && !ROLES.has(String(role))) {
      return 'Please use a valid role: user, model.';
    }
    if (!Array.isArray(parts) || parts.length === 0) {
      return `* GenerateContentRequest.contents[${index}].parts: contents.parts must not be empty.\n`;
    }
    for (const part of parts as Array<Record<string, unknown>>) {
      const call = part.functionCall as { args?: unknown } | undefined;
      const result = part.functionResponse as { response?: unknown; name?: unknown } | undefined;
      if (call && call.args !== undefined && (typeof call.args !== 'object' || Array.isArray(call.args))) {
        return `Invalid value at 'contents[${index}].parts[0].function_call.args' (type.googleapis.com/google.protobuf.Struct)`;
      }
      if (result && (typeof result.response !== 'object' || Array.isArray(result.response) || !result.name)) {
        return `Invalid value at 'contents[${index}].parts[0].function_response.response' (type.googleapis.com/google.protobuf.Struct)`;
      }
    }
  }
  return undefined;
}
