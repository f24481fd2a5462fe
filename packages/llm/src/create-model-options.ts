import { z } from 'zod';
import { LlmError } from './llm-error.js';

const milliseconds = z.number().positive().finite();

/** The shape `createModel` accepts; functions and the logger are only checked to be present. */
const optionsSchema = z.looseObject({
  apiKey: z.string().optional(),
  baseURL: z.url({ protocol: /^https?$/ }).optional(),
  maxRetries: z.number().int().min(0).max(20).optional(),
  timeoutMs: milliseconds.optional(),
  firstTokenTimeoutMs: milliseconds.optional(),
  headers: z.record(z.string(), z.string()).optional(),
  fetch: z.function().optional(),
  onCall: z.function().optional(),
  callLogLevel: z.enum(['info', 'debug']).optional(),
  sleep: z.function().optional(),
  random: z.function().optional(),
});

/**
 * Checks `createModel`'s options; throws one `invalid-request` {@link LlmError} naming every bad
 * field. Values are never echoed (one of them may be a key).
 */
export function validateModelOptions(options: unknown, provider: string, model: string): void {
  const result = optionsSchema.safeParse(options);
  if (result.success) return;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`,
  );
  throw new LlmError({
    code: 'invalid-request',
    message: `Invalid createModel options for ${provider}:${model}: ${problems.join('; ')}.`,
    provider,
    model,
    retryable: false,
  });
}
