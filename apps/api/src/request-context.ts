import { AsyncLocalStorage } from 'node:async_hooks';

/** What every log line of a request carries, wherever in HAIA (agent, model, tools) it is written. */
export interface RequestScope {
  requestId: string;
}

const storage = new AsyncLocalStorage<RequestScope>();

/** Runs `work` (and everything it starts, streams included) in the scope of one request. */
export function runInRequestScope<T>(scope: RequestScope, work: () => T): T {
  return storage.run(scope, work);
}

/** The current request's scope, if any. */
export function currentRequestScope(): RequestScope | undefined {
  return storage.getStore();
}

/** A pino `mixin`: adds `requestId` to every line written while a request is being answered. */
export function requestIdMixin(): Record<string, unknown> {
  const scope = storage.getStore();
  return scope ? { requestId: scope.requestId } : {};
}
