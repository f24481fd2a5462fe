/**
 * @module @haia/config
 * Typed configuration for HAIA's apps: every variable of the environment (and `.env`) validated with
 * zod, defaulted, and reported all at once when something is wrong.
 */
export { ConfigError, type ConfigProblem } from './config-error.js';
export {
  type AppConfig,
  type HaiaConfig,
  type LoadConfigOptions,
  loadConfig,
  type McpConfig,
  type ModelConfig,
  type MonitorConfig,
  type NotifyConfig,
  type ProviderSettings,
  type ProxmoxConfig,
  readEnvironment,
  type StoreConfig,
} from './load-config.js';
export { MASK, maskValue } from './mask.js';
export { redactConfig } from './redact-config.js';
export {
  AppConfigSchema,
  CONFIG_SCHEMAS,
  CONFIG_VARIABLES,
  LOG_LEVELS,
  McpConfigSchema,
  ModelConfigSchema,
  MonitorConfigSchema,
  NotifyConfigSchema,
  ProxmoxConfigSchema,
  SECRET_VARIABLES,
  StoreConfigSchema,
} from './schema.js';
export { describeStartError } from './start-error.js';
export {
  isLoopbackHost,
  type ModelRef,
  PROVIDERS,
  type Provider,
  parseBoolean,
  parseDuration,
  parseInteger,
  parseList,
  parseModelRef,
  parseOllamaHost,
  parsePort,
  parseQuietHours,
  parseUrl,
  type QuietHours,
} from './values.js';
