import { describe, expect, it } from 'vitest';
import { RunAbort } from './run-abort.js';

describe('RunAbort', () => {
  it("hands model calls the caller's own signal until a tool runs", () => {
    const caller = new AbortController();
    const abort = new RunAbort(caller.signal);
    expect(abort.signal).toBe(caller.signal);
    expect(abort.aborted).toBe(false);
    const reason = new Error('client gone');
    caller.abort(reason);
    expect(abort.aborted).toBe(true);
    expect(abort.reason).toBe(reason);
    expect(new RunAbort(undefined).signal).toBeUndefined();
    expect(new RunAbort(undefined).aborted).toBe(false);
  });

  it("gives tools a signal of the run's own that the caller's abort reaches, with its reason", () => {
    const caller = new AbortController();
    const abort = new RunAbort(caller.signal);
    const tools = abort.forTools();
    expect(tools).not.toBe(caller.signal);
    expect(abort.forTools()).toBe(tools);
    expect(abort.signal).toBe(tools);
    const reason = new Error('client gone');
    caller.abort(reason);
    expect(tools.aborted).toBe(true);
    expect(tools.reason).toBe(reason);
    expect(abort.reason).toBe(reason);
  });

  it('aborts the tools when the run ends early, and stops listening to the caller', () => {
    const caller = new AbortController();
    const abort = new RunAbort(caller.signal);
    const tools = abort.forTools();
    const stopped = new Error('the consumer stopped reading the events');
    abort.end(stopped);
    expect(tools.reason).toBe(stopped);
    caller.abort(new Error('later'));
    expect(tools.reason).toBe(stopped);

    const finished = new RunAbort(undefined);
    const quiet = finished.forTools();
    finished.end();
    expect(quiet.aborted).toBe(false);
  });

  it('starts aborted when the caller already was', () => {
    const caller = new AbortController();
    caller.abort(new Error('before the run'));
    const abort = new RunAbort(caller.signal);
    expect(abort.aborted).toBe(true);
    expect(abort.forTools().reason).toBe(caller.signal.reason);
  });

  it('waits for a promise unless the run is aborted first', async () => {
    const caller = new AbortController();
    const abort = new RunAbort(caller.signal);
    await expect(abort.until(Promise.resolve('tools'))).resolves.toBe('tools');
    const pending = abort.until(new Promise(() => {}));
    const reason = new Error('client gone');
    caller.abort(reason);
    await expect(pending).rejects.toBe(reason);
    await expect(new RunAbort(undefined).until(Promise.resolve(1))).resolves.toBe(1);
  });
});
