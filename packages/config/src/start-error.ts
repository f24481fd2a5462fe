/**
 * A start-up failure of a HAIA app, for people: HAIA's own errors (and Node's system errors) carry a
 * `code` and a message saying what to do, shown with their cause's message; anything else is a
 * bug, shown with its stack.
 */
export function describeStartError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (typeof (error as { code?: unknown }).code !== 'string') return error.stack ?? error.message;
  const { cause } = error;
  return cause instanceof Error && !error.message.includes(cause.message)
    ? `${error.message}\n  cause: ${cause.message}`
    : error.message;
}
