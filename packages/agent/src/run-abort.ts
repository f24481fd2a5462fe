import { untilAborted } from './until-aborted.js';

/**
 * A run's abort state: the caller's signal, plus a controller of the run's own that is made only
 * when a tool runs. The run needs its own controller for one thing, stopping the tools still
 * running when the consumer stops reading; a model call in flight is closed by its iterator's
 * `return()` instead, which leaving the loop calls. So a turn without tools makes no
 * `AbortController` here: on Node 20 every `AbortSignal` has a hidden class of its own, which makes
 * each property read of one a megamorphic miss and each signal costly to make (in the API's
 * benchmark, a JSON turn took 0.971 of the CPU without this one).
 */
export class RunAbort {
  private own: AbortController | undefined;
  private readonly forward = () => this.own?.abort(this.external?.reason);

  constructor(private readonly external: AbortSignal | undefined) {}

  /** The signal for the run's model calls: the run's own once it has one, else the caller's. */
  get signal(): AbortSignal | undefined {
    return this.own?.signal ?? this.external;
  }

  /** Whether the run was aborted (by the caller, or because its consumer stopped reading). */
  get aborted(): boolean {
    return this.own !== undefined ? this.own.signal.aborted : this.external?.aborted === true;
  }

  /** Why the run was aborted. */
  get reason(): unknown {
    return this.own?.signal.aborted ? this.own.signal.reason : this.external?.reason;
  }

  /** The signal for tool calls: the run's own controller (made on first use), linked to the caller's. */
  forTools(): AbortSignal {
    if (this.own === undefined) {
      this.own = new AbortController();
      if (this.external?.aborted) this.own.abort(this.external.reason);
      else this.external?.addEventListener('abort', this.forward, { once: true });
    }
    return this.own.signal;
  }

  /** `promise`, or a rejection with the reason when the run is aborted first. */
  until<T>(promise: Promise<T>): Promise<T> {
    const signal = this.signal;
    return signal === undefined ? promise : untilAborted(promise, signal);
  }

  /** The run has ended: unlinks from the caller's signal; a `reason` aborts the tools still running. */
  end(reason?: unknown): void {
    if (this.own === undefined) return;
    this.external?.removeEventListener('abort', this.forward);
    if (reason !== undefined) this.own.abort(reason);
  }
}
