/**
 * @module @haia/testkit
 * Fakes of the outside services HAIA talks to, served on 127.0.0.1 for tests and benchmarks.
 */
export {
  type FakeServer,
  type FakeServerOptions,
  type Handler,
  type RecordedRequest,
  type Route,
  startFakeServer,
} from './fake-server.js';
export { type DiscordFake, type DiscordFakeMessage, startDiscordFake } from './notify/discord-fake.js';
export { type NtfyFake, type NtfyFakeMessage, startNtfyFake } from './notify/ntfy-fake.js';
export { startTelegramFake, type TelegramFake, type TelegramFakeMessage } from './notify/telegram-fake.js';
export {
  abruptClose,
  chunks,
  empty,
  encodeSseEvent,
  hang,
  hangUp,
  json,
  ndjson,
  type Reply,
  type ReplyContext,
  type ReplyOptions,
  type SseEvent,
  type StreamOptions,
  sse,
  text,
} from './replies.js';
export { type TestCertificates, testCertificates } from './tls.js';
