/** CORS for `HAIA_CORS_ORIGINS`: response headers and preflight answers. */
export interface Cors {
  /** Headers to add to a response for this request's `Origin` (empty when none apply). */
  headers(origin: string | null): Record<string, string>;
  /** The answer to an `OPTIONS` preflight, or undefined when the request is not one. */
  preflight(request: Request): Response | undefined;
}

const ALLOWED_HEADERS =
  'authorization, content-type, x-request-id, x-haia-conversation-id, x-openwebui-chat-id, x-openwebui-task, x-stainless-os, x-stainless-lang, x-stainless-package-version, x-stainless-runtime, x-stainless-runtime-version, x-stainless-arch, x-stainless-retry-count, x-stainless-timeout';

/** Builds the CORS policy; `['*']` allows any origin, `[]` turns CORS off. */
export function createCors(origins: readonly string[]): Cors {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  const allows = (origin: string | null): origin is string => origin !== null && (any || allowed.has(origin));
  return {
    headers(origin) {
      if (!allows(origin)) return {};
      return {
        'access-control-allow-origin': any ? '*' : origin,
        'access-control-expose-headers': 'x-request-id, x-haia-conversation-id',
        ...(any ? {} : { vary: 'Origin' }),
      };
    },
    preflight(request) {
      if (request.method !== 'OPTIONS' || !request.headers.get('access-control-request-method'))
        return undefined;
      const origin = request.headers.get('origin');
      if (!allows(origin)) return new Response(null, { status: 204 });
      return new Response(null, {
        status: 204,
        headers: {
          ...this.headers(origin),
          'access-control-allow-methods': 'GET, POST, DELETE, OPTIONS',
          'access-control-allow-headers':
            request.headers.get('access-control-request-headers') ?? ALLOWED_HEADERS,
          'access-control-max-age': '600',
        },
      });
    },
  };
}
