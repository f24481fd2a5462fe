/**
 * Whether `error` is an OpenAI-style 400 refusing `parameter` for the model: the error's `param`
 * with code `unsupported_parameter` (or Azure's `unknown_parameter`), or, from a proxy that passes
 * only the text on, a message that `words` match.
 */
export function refusesParameter(error: unknown, parameter: string, words: RegExp): boolean {
  const { status, code, param, message } = (error ?? {}) as {
    status?: unknown;
    code?: unknown;
    param?: unknown;
    message?: unknown;
  };
  if (status !== 400) return false;
  if (param === parameter && (code === 'unsupported_parameter' || code === 'unknown_parameter')) return true;
  return typeof message === 'string' && words.test(message);
}
