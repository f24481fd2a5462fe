import { abortedError } from './abort.js';

/** What a listener of a {@link LightAbortSignal} is called with. */
interface LightAbortEvent {
  readonly type: 'abort';
  readonly target: LightAbortSignal;
}

type Listener = (this: LightAbortSignal, event: LightAbortEvent) => void;

/**
 * The part of `AbortSignal` an adapter that declares `acceptsLightSignal` uses: `aborted`, `reason`
 * and `abort` listeners (each called once). Not an `EventTarget`: on Node 20 every `AbortSignal`
 * gets a hidden class of its own, so making one and reading its properties is costly, and the core
 * makes one per attempt.
 */
export class LightAbortSignal {
  aborted = false;
  reason: unknown = undefined;
  onabort: Listener | null = null;
  private listeners: Listener[] | undefined;

  addEventListener(type: string, listener: Listener): void {
    if (type !== 'abort' || this.aborted) return;
    if (this.listeners === undefined) this.listeners = [];
    this.listeners.push(listener);
  }

  removeEventListener(type: string, listener: Listener): void {
    if (type !== 'abort' || this.listeners === undefined) return;
    const index = this.listeners.indexOf(listener);
    if (index >= 0) this.listeners.splice(index, 1);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason;
  }

  /** Aborts with `reason` (once), calling the listeners. */
  abortWith(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    const event: LightAbortEvent = { type: 'abort', target: this };
    this.onabort?.call(this, event);
    for (const listener of listeners ?? []) listener.call(this, event);
  }
}

/**
 * An `AbortController` whose signal is a {@link LightAbortSignal}, typed as the `AbortSignal` it
 * stands in for. For a signal that only code reading `aborted` and `reason` and listening for
 * `abort` sees: this library's models and `@haia/agent`'s runs never hand the caller's signal on
 * (an attempt gets a signal of its own, a tool a controller of its own), so a request's signal may
 * be one. Not for `fetch`, timers or vendor SDKs, which want a real `AbortSignal`.
 *
 * @example
 * const stop = new LightAbortController();
 * const events = model.stream({ messages, signal: stop.signal });
 * onClientGone(() => stop.abort(new Error('the client went away')));
 */
export class LightAbortController {
  private readonly light = new LightAbortSignal();
  readonly signal = this.light as unknown as AbortSignal;

  abort(reason?: unknown): void {
    this.light.abortWith(reason ?? abortedError());
  }
}
