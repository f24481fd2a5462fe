/** A running chat turn, as graceful shutdown sees it. */
interface ActiveTurn {
  abort(reason: unknown): void;
  done: Promise<void>;
}

/** The chat turns in flight, so shutdown can let them finish (and store partials) before closing the store. */
export class ActiveTurns {
  private readonly turns = new Set<ActiveTurn>();

  /** Registers a turn; call the returned function when it has ended and been stored. */
  begin(abort: (reason: unknown) => void): () => void {
    let end!: () => void;
    const turn: ActiveTurn = { abort, done: new Promise<void>((resolve) => (end = resolve)) };
    this.turns.add(turn);
    return () => {
      this.turns.delete(turn);
      end();
    };
  }

  /** Turns running now. */
  get size(): number {
    return this.turns.size;
  }

  /**
   * Waits up to `graceMs` for every turn to end, then aborts the rest (they store their partial
   * answers) and waits for them to finish storing.
   */
  async drain(graceMs: number): Promise<void> {
    if (this.turns.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const all = () => Promise.all([...this.turns].map((turn) => turn.done));
    const expired = await Promise.race([
      all().then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!expired) return;
    for (const turn of this.turns) turn.abort(new Error('HAIA is shutting down'));
    await all();
  }
}
