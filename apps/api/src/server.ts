import { randomUUID } from 'node:crypto';
import { node } from '@elysiajs/node';
import type { HaiaConfig } from '@haia/config';
import type { LanguageModel } from '@haia/llm';
import type { Store, StoreCallOptions } from '@haia/store';
import { Elysia } from 'elysia';
import type { Logger } from 'pino';
import { ActiveTurns } from './active-turns.js';
import { ApiError, errorResponse, toApiError } from './api-error.js';
import { createBearerAuth, unauthorized } from './auth.js';
import { type ChatModelEntry, handleChatCompletion, type RequestContext } from './chat-completions.js';
import { storeFailure } from './conversation-turn.js';
import { createCors } from './cors.js';
import { fastResponse } from './fast-response.js';
import { type ApiMetrics, createMetrics } from './metrics.js';
import { DEFAULT_BODY_LIMIT_BYTES } from './read-body.js';
import { createModelRunner, type TurnRunner } from './turn-runner.js';

/** One check of `/ready`: `ok` plus whatever describes the state. */
export interface ReadinessCheck {
  ok: boolean;
  [detail: string]: unknown;
}

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  config: HaiaConfig;
  logger: Logger;
  /** Conversation memory. The server never closes it: its owner does, after `stop()`. */
  store: Store;
  /** `haia`'s model (`HAIA_MODEL`, with its fallbacks). */
  model: LanguageModel;
  /** Extra models advertised on `/v1/models` (`HAIA_MODELS`), by their `provider:model` name. */
  extraModels?: ReadonlyArray<{ name: string; model: LanguageModel }>;
  /**
   * The turn runner (normally the agent with HAIA's toolsets) for a model. Default: the plain
   * model, with only the client's own tools.
   */
  runnerFor?: (model: LanguageModel) => TurnRunner;
  /** Checks added to `/ready` (`proxmox`, `mcp`): a failing one is reported but does not fail readiness. */
  readiness?: () => Promise<Record<string, ReadinessCheck>> | Record<string, ReadinessCheck>;
  metrics?: ApiMetrics;
  /** Largest accepted request body (default 16 MiB); larger ones get a 413. */
  bodyLimitBytes?: number;
  /** How long `stop()` lets running chat turns finish before aborting them (default 30 s). */
  shutdownGraceMs?: number;
  /** Wall clock in ms (default `Date.now`). */
  now?: () => number;
  /** Gap after which a `: keepalive` comment is sent during long tool steps (default 15 s). */
  keepaliveMs?: number;
}

/** HAIA's HTTP server: the Elysia app plus start and stop. */
export interface ApiServer {
  /** The Elysia app; `app.handle(new Request(...))` answers in-process without a port. */
  app: { handle(request: Request): Promise<Response> };
  metrics: ApiMetrics;
  /** Starts listening on `HOST:PORT`; resolves with the URL (the real port when `PORT` was 0). */
  listen(): Promise<string>;
  /**
   * Stops accepting connections, lets running chat turns finish (up to `shutdownGraceMs`, then
   * aborts them so they store their partial answers), then closes every connection.
   */
  stop(): Promise<void>;
}

/** The srvx server that @elysiajs/node hands to the listen callback. */
interface NodeServerHandle {
  raw: {
    ready(): Promise<unknown>;
    close(closeAll?: boolean): Promise<void>;
    url?: string;
    node?: { server?: { closeIdleConnections?(): void } };
  };
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** Builds HAIA's HTTP server (routes, auth, CORS, error envelope, metrics) without listening. */
export function createApiServer(options: ApiServerOptions): ApiServer {
  const { config, logger, store } = options;
  const metrics = options.metrics ?? createMetrics();
  const turns = new ActiveTurns();
  const auth = createBearerAuth(config.app.apiKeys);
  const cors = createCors(config.app.corsOrigins);
  const runnerFor = options.runnerFor ?? createModelRunner;
  const now = options.now ?? Date.now;
  const created = Math.floor(now() / 1000);

  const defaultModel: ChatModelEntry = {
    name: 'haia',
    modelId: config.model.model.id,
    model: options.model,
    runner: runnerFor(options.model),
  };
  const models = new Map<string, ChatModelEntry>([['haia', defaultModel]]);
  for (const extra of options.extraModels ?? []) {
    if (models.has(extra.name)) continue;
    models.set(extra.name, {
      name: extra.name,
      modelId: extra.name,
      model: extra.model,
      runner: runnerFor(extra.model),
    });
  }
  const modelList = JSON.stringify({
    object: 'list',
    data: [...models.values()].map((entry) => ({
      id: entry.name,
      object: 'model',
      created,
      owned_by: 'haia',
      ...(entry.name === 'haia' ? { name: `HAIA (${entry.modelId})` } : {}),
    })),
  });
  const chatOptions = {
    store,
    models,
    defaultModel,
    metrics,
    logger,
    turns,
    bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    ollamaHost: config.model.providers.ollama.baseURL,
    now,
    ...(options.keepaliveMs ? { keepaliveMs: options.keepaliveMs } : {}),
  };
  let stopping = false;

  /** The request's id (its valid `X-Request-Id`, else a new one) and the headers every response carries. */
  function identify(request: Request): RequestContext {
    const incoming = request.headers.get('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    return {
      requestId,
      startedAt: performance.now(),
      headers: { 'x-request-id': requestId, ...cors.headers(request.headers.get('origin')) },
    };
  }

  /** Request id, CORS headers, and (for `/v1/*`) the bearer check. */
  function begin(request: Request, protectedRoute: boolean): RequestContext | Response {
    const context = identify(request);
    if (stopping && protectedRoute) {
      return errorResponse(
        new ApiError({
          status: 503,
          message: 'HAIA is shutting down; retry in a moment.',
          code: 'shutting_down',
        }),
        { ...context.headers, connection: 'close' },
      );
    }
    if (protectedRoute) {
      const authorization = request.headers.get('authorization');
      if (!auth.check(authorization)) return respond(context, '/v1/*', unauthorized(authorization));
    }
    return context;
  }

  /** Finishes a short request: metrics, one access line, the response. */
  function respond(context: RequestContext, route: string, result: unknown, status = 200): Response {
    let response: Response;
    if (ApiError.isInstance(result)) response = errorResponse(result, context.headers);
    else if (result instanceof Response) response = result;
    else {
      response = fastResponse(typeof result === 'string' ? result : JSON.stringify(result), {
        status,
        headers: { 'content-type': 'application/json', ...context.headers },
      });
    }
    const latency = performance.now() - context.startedAt;
    metrics.recordRequest(route, response.status, latency / 1000);
    const line = {
      requestId: context.requestId,
      route,
      status: response.status,
      latencyMs: Math.round(latency * 10) / 10,
      ...(ApiError.isInstance(result) ? { errorCode: result.code } : {}),
    };
    if (route === '/health' || route === '/metrics' || route === '/ready') logger.debug(line, 'request');
    else logger.info(line, 'request');
    return response;
  }

  async function guarded(
    request: Request,
    route: string,
    protectedRoute: boolean,
    work: (context: RequestContext) => Promise<unknown> | unknown,
  ): Promise<Response> {
    const context = begin(request, protectedRoute);
    if (context instanceof Response) return context;
    try {
      return respond(context, route, await work(context));
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.status >= 500)
        logger.error({ requestId: context.requestId, err: error }, 'request failed');
      return respond(context, route, apiError);
    }
  }

  /** A store call's options for a request: its failure warning carries the request's id. */
  function storeCall(context: RequestContext): StoreCallOptions {
    return { logger: logger.child({ requestId: context.requestId }) };
  }

  async function ready(context: RequestContext): Promise<Response> {
    const checks: Record<string, ReadinessCheck> = {};
    const started = performance.now();
    try {
      await store.ping();
      checks.database = {
        ok: true,
        backend: store.backend,
        latencyMs: Math.round((performance.now() - started) * 10) / 10,
      };
    } catch (error) {
      checks.database = { ok: false, backend: store.backend, error: (error as Error).message };
    }
    checks.model = {
      ok: true,
      id: config.model.model.id,
      fallbacks: config.model.fallbackModels.map((ref) => ref.id),
    };
    if (options.readiness) {
      try {
        Object.assign(checks, await options.readiness());
      } catch (error) {
        checks.tools = { ok: false, error: (error as Error).message };
      }
    }
    const isReady = checks.database.ok === true && !stopping;
    return fastResponse(JSON.stringify({ status: isReady ? 'ready' : 'not-ready', checks }), {
      status: isReady ? 200 : 503,
      headers: { 'content-type': 'application/json', ...context.headers },
    });
  }

  const app = new Elysia({ adapter: node() })
    .onError(({ code, error, request }) => {
      // Not one of HAIA's routes (or past its handlers): the response still carries the request id
      // and the CORS headers, so a browser can read it and a log line can be found.
      const context = identify(request);
      if (code === 'NOT_FOUND') {
        const url = new URL(request.url);
        return respond(
          context,
          'unknown',
          new ApiError({
            status: 404,
            message: `Unknown route ${request.method} ${url.pathname}. HAIA serves POST /v1/chat/completions, GET /v1/models, /v1/conversations, /health, /ready and /metrics.`,
            code: 'unknown_route',
          }),
        );
      }
      if (code === 'PARSE' || code === 'VALIDATION') {
        return respond(
          context,
          'unknown',
          new ApiError({ status: 400, message: 'The request could not be read.', code: 'invalid_request' }),
        );
      }
      logger.error({ requestId: context.requestId, err: error }, 'unhandled error');
      return respond(context, 'unknown', toApiError(error));
    })
    .onRequest(({ request }) => {
      return cors.preflight(request);
    })
    .get('/health', ({ request }) => guarded(request, '/health', false, () => ({ status: 'ok' })))
    .get('/ready', ({ request }) => guarded(request, '/ready', false, ready))
    .get('/metrics', ({ request }) =>
      guarded(request, '/metrics', false, async (context) => {
        return fastResponse(await metrics.registry.metrics(), {
          headers: { 'content-type': metrics.registry.contentType, ...context.headers },
        });
      }),
    )
    .get('/v1/models', ({ request }) => guarded(request, '/v1/models', true, () => modelList))
    .get('/v1/models/:id', ({ request, params }) =>
      guarded(request, '/v1/models/:id', true, () => {
        const entry = models.get(decodeURIComponent(params.id));
        if (!entry) {
          throw new ApiError({
            status: 404,
            message: `The model '${params.id}' does not exist on HAIA; GET /v1/models lists them.`,
            code: 'model_not_found',
          });
        }
        return { id: entry.name, object: 'model', created, owned_by: 'haia' };
      }),
    )
    .get('/v1/conversations', ({ request }) =>
      guarded(request, '/v1/conversations', true, async (context) => {
        const query = new URL(request.url).searchParams;
        // Lenient, like the body: a limit that is no number is the default, one out of range the nearest bound.
        const limit = Math.min(Math.max(Math.trunc(Number(query.get('limit') ?? 20)) || 20, 1), 100);
        const cursorParam = query.get('cursor') ? 'cursor' : 'after';
        const cursor = query.get(cursorParam) || undefined;
        const userId = query.get('user') ?? undefined;
        const page = await metrics
          .timeStore('list', () =>
            store.listConversations(
              { limit, ...(cursor ? { cursor } : {}), ...(userId ? { userId } : {}) },
              storeCall(context),
            ),
          )
          .catch((error: unknown) => {
            // The arguments are checked above, but the cursor: `invalid` means one the store did not hand out.
            if (cursor !== undefined && (error as { code?: unknown } | null)?.code === 'invalid') {
              throw invalidCursor(cursorParam);
            }
            throw storeFailure(error);
          });
        return {
          object: 'list',
          data: page.conversations.map((conversation) => ({ object: 'conversation', ...conversation })),
          has_more: page.nextCursor !== undefined,
          next_cursor: page.nextCursor ?? null,
        };
      }),
    )
    .get('/v1/conversations/:id', ({ request, params }) =>
      guarded(request, '/v1/conversations/:id', true, async (context) => {
        const found = await metrics
          .timeStore('get', () => store.getConversation(params.id, storeCall(context)))
          .catch((error: unknown) => {
            throw storeFailure(error);
          });
        if (!found) throw conversationNotFound(params.id);
        return { object: 'conversation', ...found.conversation, messages: found.messages };
      }),
    )
    .delete('/v1/conversations/:id', ({ request, params }) =>
      guarded(request, '/v1/conversations/:id', true, async (context) => {
        const deleted = await metrics
          .timeStore('delete', () => store.deleteConversation(params.id, storeCall(context)))
          .catch((error: unknown) => {
            throw storeFailure(error);
          });
        if (!deleted) throw conversationNotFound(params.id);
        return { id: params.id, object: 'conversation.deleted', deleted: true };
      }),
    )
    .post(
      '/v1/chat/completions',
      ({ request }) => {
        const context = begin(request, true);
        if (context instanceof Response) return context;
        return handleChatCompletion(request, context, chatOptions);
      },
      { parse: 'none' },
    );

  let handle: NodeServerHandle | undefined;
  return {
    app,
    metrics,
    async listen() {
      const listening = new Promise<NodeServerHandle>((resolve) => {
        // reusePort off: a second HAIA on the same port must fail, not share it silently.
        // gracefulShutdown off: HAIA handles SIGINT/SIGTERM itself.
        const listenOptions = {
          hostname: config.app.host,
          port: config.app.port,
          reusePort: false,
          gracefulShutdown: false,
        };
        app.listen(listenOptions as { hostname: string; port: number }, (server) =>
          resolve(server as unknown as NodeServerHandle),
        );
      });
      handle = await listening;
      await handle.raw.ready();
      return (handle.raw.url ?? `http://${config.app.host}:${config.app.port}`).replace(/\/$/, '');
    },
    async stop() {
      stopping = true;
      const raw = handle?.raw;
      handle = undefined;
      const closing = raw?.close(false);
      raw?.node?.server?.closeIdleConnections?.();
      await turns.drain(options.shutdownGraceMs ?? 30_000);
      await raw?.close(true);
      await closing;
    },
  };
}

function conversationNotFound(id: string): ApiError {
  return new ApiError({
    status: 404,
    message: `No conversation with id '${id}'. GET /v1/conversations lists them.`,
    code: 'conversation_not_found',
  });
}

/** The 400 of a listing whose `cursor` (or `after`) is not a `next_cursor` HAIA gave. */
function invalidCursor(param: string): ApiError {
  return new ApiError({
    status: 400,
    message: `The ${param} is not one HAIA gave: pass the next_cursor of the previous page unchanged, or leave ${param} out for the first page.`,
    param,
    code: 'invalid_value',
  });
}
