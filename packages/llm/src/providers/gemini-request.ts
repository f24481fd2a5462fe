import type { Content, FunctionCallingConfigMode, GenerateContentConfig, Part } from '@google/genai';
import type { ChatRequest, ReasoningEffort } from '../language-model.js';
import { LlmError } from '../llm-error.js';
import type { ImagePart, Message, ToolResultPart } from '../message.js';

/** Thinking settings for Gemini models that think. */
export interface GeminiThinkingOptions {
  /** Ask for thought summaries (`thinkingConfig.includeThoughts`); streamed as `reasoning-delta`. */
  includeThoughts: boolean;
  /** `thinkingConfig.thinkingBudget` in tokens (0 turns thinking off on 2.5 Flash). */
  thinkingBudget?: number | undefined;
}

/** What `generateContentStream` receives, minus the model and the abort signal. */
export interface GeminiRequestParts {
  contents: Content[];
  config: GenerateContentConfig;
}

/** Prefix of tool-call ids HAIA made up because Gemini sent none; they are not echoed back. */
export const GEMINI_GENERATED_ID_PREFIX = 'gemini-call-';

/**
 * Google's documented placeholder for a function call that has no thought signature of its own
 * (Gemini 3 rejects function-call turns without one).
 */
const SKIP_SIGNATURE = 'skip_thought_signature_validator';

const DATA_URL = /^data:([^;,]+)(;base64)?,(.*)$/s;

const EXTENSION_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
};

/** Thinking budgets for a request's reasoning effort, as Google's OpenAI-compatible endpoint maps them. */
const THINKING_BUDGET_FOR_EFFORT: Record<ReasoningEffort, number> = {
  none: 0,
  minimal: 1024,
  low: 1024,
  medium: 8192,
  high: 24_576,
  xhigh: 24_576,
};

/**
 * Translates a chat request into Gemini's `contents` and `config`: system messages become
 * `systemInstruction`, assistant turns role `model`, tool results `functionResponse` parts in a
 * user turn, consecutive turns of one role are merged.
 */
export function toGeminiRequest(
  modelId: string,
  request: Omit<ChatRequest, 'signal'>,
  thinking: GeminiThinkingOptions | undefined,
): GeminiRequestParts {
  const system: string[] = [];
  const contents: Content[] = [];
  const push = (role: 'user' | 'model', parts: Part[]) => {
    if (parts.length === 0) return;
    const last = contents.at(-1);
    if (last?.role === role) last.parts?.push(...parts);
    else contents.push({ role, parts });
  };
  for (const message of request.messages) {
    if (message.role === 'system') system.push(message.content);
    else if (message.role === 'user') push('user', userParts(message, modelId));
    else if (message.role === 'assistant') push('model', modelParts(message, modelId));
    else push('user', message.content.map(functionResponsePart));
  }

  const config: GenerateContentConfig = {};
  if (system.length > 0) config.systemInstruction = system.join('\n\n');
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.topP !== undefined) config.topP = request.topP;
  if (request.maxOutputTokens !== undefined) config.maxOutputTokens = request.maxOutputTokens;
  if (request.stop && request.stop.length > 0) config.stopSequences = request.stop;
  if (request.seed !== undefined) config.seed = request.seed;
  if (request.frequencyPenalty !== undefined) config.frequencyPenalty = request.frequencyPenalty;
  if (request.presencePenalty !== undefined) config.presencePenalty = request.presencePenalty;
  if (request.responseFormat?.type === 'json') {
    config.responseMimeType = 'application/json';
    if (request.responseFormat.schema) config.responseJsonSchema = request.responseFormat.schema;
  }
  const choice = request.toolChoice ?? 'auto';
  if (request.tools && request.tools.length > 0) {
    config.tools = [
      {
        functionDeclarations: request.tools.map((tool) => ({
          name: tool.name,
          description: tool.description,
          parametersJsonSchema: tool.inputSchema,
        })),
      },
    ];
    if (choice === 'none') config.toolConfig = { functionCallingConfig: { mode: mode('NONE') } };
    else if (choice === 'required') config.toolConfig = { functionCallingConfig: { mode: mode('ANY') } };
    else if (typeof choice === 'object') {
      config.toolConfig = {
        functionCallingConfig: { mode: mode('ANY'), allowedFunctionNames: [choice.toolName] },
      };
    }
  }
  // The request's effort overrides the model's configured budget.
  const budget =
    request.reasoningEffort !== undefined
      ? THINKING_BUDGET_FOR_EFFORT[request.reasoningEffort]
      : thinking?.thinkingBudget;
  if (thinking?.includeThoughts || budget !== undefined) {
    config.thinkingConfig = {
      ...(thinking?.includeThoughts ? { includeThoughts: true } : {}),
      ...(budget !== undefined ? { thinkingBudget: budget } : {}),
    };
  }
  return { contents, config };
}

/** The SDK types modes as an enum that is only available at run time; the wire value is the string. */
function mode(value: 'ANY' | 'NONE'): FunctionCallingConfigMode {
  return value as unknown as FunctionCallingConfigMode;
}

function userParts(message: Extract<Message, { role: 'user' }>, modelId: string): Part[] {
  if (typeof message.content === 'string') return message.content === '' ? [] : [{ text: message.content }];
  return message.content.map((part) =>
    part.type === 'text' ? { text: part.text } : imagePart(part, modelId),
  );
}

/**
 * Images: bytes and `data:` URLs go inline (`inlineData`, base64); other URLs go as `fileData`
 * (Gemini fetches Files API URIs, YouTube and, on recent models, public http(s) URLs itself).
 */
function imagePart(part: ImagePart, modelId: string): Part {
  if ('data' in part) return { inlineData: { mimeType: part.mediaType, data: part.data } };
  const data = DATA_URL.exec(part.url);
  if (data) {
    const [, mimeType = 'application/octet-stream', base64, payload = ''] = data;
    const bytes = base64 ? payload : Buffer.from(decodeURIComponent(payload), 'utf8').toString('base64');
    return { inlineData: { mimeType, data: bytes } };
  }
  let extension: string | undefined;
  try {
    extension = new URL(part.url).pathname.split('.').at(-1)?.toLowerCase();
  } catch (cause) {
    throw new LlmError({
      code: 'invalid-request',
      message: 'An image part has a URL that is not valid: pass an absolute URL or { data, mediaType }.',
      provider: 'gemini',
      model: modelId,
      retryable: false,
      cause,
    });
  }
  const mimeType = (extension && EXTENSION_TYPES[extension]) || 'image/jpeg';
  return { fileData: { fileUri: part.url, mimeType } };
}

function modelParts(message: Extract<Message, { role: 'assistant' }>, modelId: string): Part[] {
  if (typeof message.content === 'string') return message.content === '' ? [] : [{ text: message.content }];
  const parts: Part[] = [];
  let signature: string | undefined;
  let signedCall = false;
  for (const part of message.content) {
    if (part.type === 'reasoning') {
      // Thought summaries are not sent back; their signature rides on the next part, as Gemini wants.
      if (part.signature) signature = part.signature;
      continue;
    }
    if (part.type === 'text') {
      if (part.text === '' && !signature) continue;
      parts.push({ text: part.text, ...(signature ? { thoughtSignature: signature } : {}) });
      signature = undefined;
      continue;
    }
    const generated = part.toolCallId.startsWith(GEMINI_GENERATED_ID_PREFIX);
    const call: Part = {
      functionCall: {
        ...(generated ? {} : { id: part.toolCallId }),
        name: part.toolName,
        args: asObject(part.input),
      },
    };
    if (signature) call.thoughtSignature = signature;
    else if (!signedCall && /gemini-3/.test(modelId)) call.thoughtSignature = SKIP_SIGNATURE;
    signedCall = true;
    signature = undefined;
    parts.push(call);
  }
  return parts;
}

function functionResponsePart(result: ToolResultPart): Part {
  const generated = result.toolCallId.startsWith(GEMINI_GENERATED_ID_PREFIX);
  const response = result.isError ? { error: result.output } : asObject(result.output, 'output');
  return {
    functionResponse: {
      ...(generated ? {} : { id: result.toolCallId }),
      name: result.toolName,
      response,
    },
  };
}

/** Gemini wants JSON objects for call arguments and function responses; wrap anything else. */
function asObject(value: unknown, key = 'value'): Record<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return value as Record<string, unknown>;
  if (value === undefined) return {};
  return { [key]: value };
}
