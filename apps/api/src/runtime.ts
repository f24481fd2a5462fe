import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAgent, homelabInstructions, type Instructions, type Toolset } from '@haia/agent';
import type { HaiaConfig, ModelRef } from '@haia/config';
import { createFallbackModel, createModel, type LanguageModel } from '@haia/llm';
import { createStore, type Store } from '@haia/store';
import type { Logger } from 'pino';
import { createAgentRunner } from './agent-runner.js';
import type { ReadinessCheck } from './server.js';
import type { TurnRunner } from './turn-runner.js';

/** Everything the server is built from, made from the configuration. */
export interface Runtime {
  store: Store;
  model: LanguageModel;
  extraModels: Array<{ name: string; model: LanguageModel }>;
  runnerFor: (model: LanguageModel) => TurnRunner;
  readiness: () => Promise<Record<string, ReadinessCheck>>;
  /** Closes the toolsets' connections and then the store. */
  close(): Promise<void>;
}

/** Toolsets plugged in from outside (Proxmox, MCP) with their state for `/ready`. */
export interface ToolsetSource {
  name: string;
  toolsets(): readonly Toolset[];
  status(): ReadinessCheck | Promise<ReadinessCheck>;
  close?(): Promise<void>;
}

/** How long a model call may take before HAIA gives up on it with a 504 (`upstream_timeout`). */
export interface ModelTimeouts {
  /** Per attempt, until the first output (retried): a server that hangs before answering. */
  firstTokenTimeoutMs: number;
  /** The whole call, attempts and answer included (not retried). */
  timeoutMs: number;
}

/**
 * 5 minutes to the first token (a local server loading a large model from disk takes minutes;
 * OpenWebUI's own limit for a whole turn is 300 s) and 30 minutes for a whole call (a long answer
 * on a CPU at a few tokens a second): bounds for a hung upstream, not for a slow one.
 */
export const DEFAULT_MODEL_TIMEOUTS: ModelTimeouts = {
  firstTokenTimeoutMs: 5 * 60_000,
  timeoutMs: 30 * 60_000,
};

/** Creates a model from a `provider:model` reference with the provider's configured endpoint and key. */
export function modelFromConfig(
  config: HaiaConfig,
  ref: ModelRef,
  logger: Logger,
  timeouts: ModelTimeouts = DEFAULT_MODEL_TIMEOUTS,
): LanguageModel {
  const settings = config.model.providers[ref.provider];
  return createModel(ref.id, {
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(settings.baseURL ? { baseURL: settings.baseURL } : {}),
    firstTokenTimeoutMs: timeouts.firstTokenTimeoutMs,
    timeoutMs: timeouts.timeoutMs,
    logger,
    // The request's access line carries the model, tokens and time to first token; the per-call
    // line is at debug (a failed call's is still a warning).
    callLogLevel: 'debug',
  });
}

/** Opens the store the configuration names: PostgreSQL at `DATABASE_URL`, else PGlite in `HAIA_DATA_DIR`. */
export function openStore(
  config: HaiaConfig,
  logger: Logger,
  options: { migrate?: boolean } = {},
): Promise<Store> {
  const { store } = config;
  if (store.databaseUrl) {
    return createStore({
      url: store.databaseUrl,
      pool: { max: store.poolMax, connectTimeoutMs: store.connectTimeoutMs },
      logger,
      ...(options.migrate === false ? { migrate: false } : {}),
    });
  }
  return createStore({
    dataDir: join(store.dataDir, 'pglite'),
    logger,
    ...(options.migrate === false ? { migrate: false } : {}),
  });
}

/**
 * Builds the runtime from the configuration: the store, `haia`'s model with its fallbacks, the
 * `HAIA_MODELS` entries, and an agent per model with the built-in homelab instructions (or the
 * text of `HAIA_SYSTEM_PROMPT_FILE`) and the toolsets of `sources`.
 */
export async function createRuntime(
  config: HaiaConfig,
  logger: Logger,
  options: {
    sources?: ToolsetSource[];
    /** A store to use instead of opening the configured one (tests); it is closed by `close()` all the same. */
    store?: Store;
    /** Limits of every model call (default {@link DEFAULT_MODEL_TIMEOUTS}). */
    modelTimeouts?: ModelTimeouts;
  } = {},
): Promise<Runtime> {
  const sources = options.sources ?? [];
  const fromRef = (ref: ModelRef) => modelFromConfig(config, ref, logger, options.modelTimeouts);
  const primary = fromRef(config.model.model);
  const model =
    config.model.fallbackModels.length > 0
      ? createFallbackModel([primary, ...config.model.fallbackModels.map(fromRef)], { logger })
      : primary;
  const extraModels = config.model.models
    .filter((ref) => ref.id !== config.model.model.id)
    .map((ref) => ({ name: ref.id, model: fromRef(ref) }));
  const systemPrompt = config.app.systemPromptFile
    ? await readFile(config.app.systemPromptFile, 'utf8')
    : undefined;
  const store = options.store ?? (await openStore(config, logger));
  const toolsets: Toolset[] = sources.flatMap((source) => source.toolsets());
  const instructions = systemPrompt ?? cachedHomelabInstructions();
  const runnerFor = (answering: LanguageModel): TurnRunner =>
    createAgentRunner(
      createAgent({
        model: answering,
        instructions,
        toolsets,
        limits: {
          maxSteps: config.app.maxSteps,
          toolTimeoutMs: config.app.toolTimeoutMs,
          contextTokens: config.app.contextTokens,
        },
        logger,
      }),
    );
  return {
    store,
    model,
    extraModels,
    runnerFor,
    async readiness() {
      const checks: Record<string, ReadinessCheck> = {};
      for (const source of sources) {
        try {
          checks[source.name] = await source.status();
        } catch (error) {
          checks[source.name] = { ok: false, error: (error as Error).message };
        }
      }
      return checks;
    },
    async close() {
      for (const source of sources) await source.close?.().catch(() => {});
      await store.close();
    },
  };
}

/**
 * The built-in homelab prompt, rebuilt only when the minute or the connected tools change: building
 * it formats the date with `Intl.DateTimeFormat`, which is costly to do on every model turn.
 */
function cachedHomelabInstructions(): Instructions<unknown> {
  let lastKey = '';
  // Built once now: the first `Intl.DateTimeFormat` loads the time zone data (tens of ms), which
  // would otherwise land on the first request's time to first token.
  let lastText = homelabInstructions({
    now: new Date(),
    tools: [],
    connected: { proxmox: false, mcpServers: [] },
  });
  return ({ now, tools, toolsets: answered }) => {
    const minute = Math.floor(now.getTime() / 60_000);
    let key = `${minute}|${answered.join(',')}|`;
    for (const tool of tools) key += `${tool.name},`;
    if (key !== lastKey) {
      lastText = homelabInstructions({
        now: new Date(minute * 60_000),
        tools,
        connected: {
          proxmox: answered.includes('proxmox'),
          mcpServers: answered.filter((name) => name !== 'proxmox'),
        },
      });
      lastKey = key;
    }
    return lastText;
  };
}
