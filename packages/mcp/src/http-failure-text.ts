/** The HTTP status an SDK transport error carries (`StreamableHTTPError`, `SseError`, or `(HTTP 401)` in its text). */
function httpStatusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'number' && code >= 100 && code <= 599) return code;
  const text = error instanceof Error ? error.message : String(error);
  const match = /\(HTTP (\d{3})\)|status code \((\d{3})\)/.exec(text);
  const status = Number(match?.[1] ?? match?.[2]);
  return Number.isInteger(status) ? status : undefined;
}

/** How an entry sends a token, as mcp_config.json text. */
const HEADER_EXAMPLE = `"Authorization": "Bearer \${TOKEN}"`;

/**
 * Why a remote server refused us, in words a user can act on: for HTTP 401 and 403 the status and
 * what to check in the entry's `headers` (never their values); `undefined` for other failures.
 * `hasHeaders` tells whether the entry sends any.
 */
export function httpAuthFailureText(error: unknown, hasHeaders: boolean): string | undefined {
  const status = httpStatusOf(error);
  if (status === 401) {
    return hasHeaders
      ? `the server answered HTTP 401 Unauthorized: it rejected the credentials this entry sends. Check that the token in the entry's "headers" (for example ${HEADER_EXAMPLE}) is valid and not expired, and that the variable it uses is set`
      : `the server answered HTTP 401 Unauthorized: it needs credentials and this entry sends none. Add them to the entry's "headers", for example ${HEADER_EXAMPLE}`;
  }
  if (status === 403) {
    return 'the server answered HTTP 403 Forbidden: it knows the credentials but refuses access. Check that the token in the entry\'s "headers" is for this server and has the permissions (scopes) it needs';
  }
  return undefined;
}
