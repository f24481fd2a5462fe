import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Prometheus metrics of one API server, on their own registry (several servers can share a process). */
export interface ApiMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  requestDuration: Histogram<'route'>;
  timeToFirstToken: Histogram<'model'>;
  tokens: Counter<'model' | 'kind'>;
  activeStreams: Gauge;
  toolCalls: Counter<'tool' | 'outcome'>;
  storeDuration: Histogram<'operation' | 'outcome'>;
  /** Times a store call and records it under `operation`. */
  timeStore<T>(operation: string, call: () => Promise<T>): Promise<T>;
  /** Counts a finished HTTP request and observes its duration (through cached label children). */
  recordRequest(route: string, status: number, seconds: number): void;
  /** Observes a chat turn's time to first token for `model`. */
  recordFirstToken(model: string, seconds: number): void;
  /** Adds a turn's input and output tokens for `model`. */
  recordTokens(model: string, inputTokens: number, outputTokens: number): void;
}

/**
 * Caches prom-client label children by key: `metric.labels(...)` hashes the label set once, where
 * `metric.inc({...})` hashes it on every call. Label values here come from a small fixed set
 * (routes, statuses, configured models, store operations), so the cache stays small.
 */
function childCache<Child>(make: (key: string) => Child): (key: string) => Child {
  const children = new Map<string, Child>();
  return (key) => {
    let child = children.get(key);
    if (child === undefined) {
      child = make(key);
      children.set(key, child);
    }
    return child;
  };
}

/** Creates the metrics; `defaultMetrics` adds Node's process metrics (off in tests). */
export function createMetrics(options: { defaultMetrics?: boolean } = {}): ApiMetrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'haia_' });
  const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  const requests = new Counter({
    name: 'haia_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['route', 'status'] as const,
    registers: [registry],
  });
  const requestDuration = new Histogram({
    name: 'haia_http_request_duration_seconds',
    help: 'Time from request to the end of the response (streams included)',
    labelNames: ['route'] as const,
    buckets: latencyBuckets,
    registers: [registry],
  });
  const timeToFirstToken = new Histogram({
    name: 'haia_chat_time_to_first_token_seconds',
    help: 'Time from request to the first text or reasoning token',
    labelNames: ['model'] as const,
    buckets: latencyBuckets,
    registers: [registry],
  });
  const tokens = new Counter({
    name: 'haia_llm_tokens_total',
    help: 'Tokens by model and kind (input, output)',
    labelNames: ['model', 'kind'] as const,
    registers: [registry],
  });
  const activeStreams = new Gauge({
    name: 'haia_chat_active_streams',
    help: 'Chat responses being streamed now',
    registers: [registry],
  });
  const toolCalls = new Counter({
    name: 'haia_tool_calls_total',
    help: "HAIA's own tool calls by tool and outcome",
    labelNames: ['tool', 'outcome'] as const,
    registers: [registry],
  });
  const storeDuration = new Histogram({
    name: 'haia_store_operation_duration_seconds',
    help: 'Store calls by operation and outcome',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const requestCounter = childCache((key) => {
    const split = key.lastIndexOf(' ');
    return requests.labels({ route: key.slice(0, split), status: key.slice(split + 1) });
  });
  const durationOf = childCache((route) => requestDuration.labels({ route }));
  const firstTokenOf = childCache((model) => timeToFirstToken.labels({ model }));
  const inputTokensOf = childCache((model) => tokens.labels({ model, kind: 'input' }));
  const outputTokensOf = childCache((model) => tokens.labels({ model, kind: 'output' }));
  const storeOk = childCache((operation) => storeDuration.labels({ operation, outcome: 'ok' }));
  const storeError = childCache((operation) => storeDuration.labels({ operation, outcome: 'error' }));
  return {
    registry,
    requests,
    requestDuration,
    timeToFirstToken,
    tokens,
    activeStreams,
    toolCalls,
    storeDuration,
    timeStore(operation, call) {
      const started = performance.now();
      // `then`, not an async wrapper: one promise per store call instead of three.
      const settled = <T>(histogram: typeof storeOk, result: T): T => {
        histogram(operation).observe((performance.now() - started) / 1000);
        return result;
      };
      try {
        return call().then(
          (result) => settled(storeOk, result),
          (error: unknown) => Promise.reject(settled(storeError, error)),
        );
      } catch (error) {
        return Promise.reject(settled(storeError, error));
      }
    },
    recordRequest(route, status, seconds) {
      requestCounter(`${route} ${status}`).inc();
      durationOf(route).observe(seconds);
    },
    recordFirstToken(model, seconds) {
      firstTokenOf(model).observe(seconds);
    },
    recordTokens(model, inputTokens, outputTokens) {
      inputTokensOf(model).inc(inputTokens);
      outputTokensOf(model).inc(outputTokens);
    },
  };
}
