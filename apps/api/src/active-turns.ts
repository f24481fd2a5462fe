/** A running chat turn, as graceful shutdown sees it. */
interface ActiveTurn {
  abort(reason: unknown): void;
  /** Resolves `drain`'s wait for this turn; set only while a drain waits (no promise per turn otherwise). */
  ended?: () => void;
}

/** The chat turns in flight, so shutdown can let them finish (and store partials) before closing the store. */
export class ActiveTurns {
  private readonly turns = new Set<ActiveTurn>();

  /** Registers a turn; call the returned function when it has ended and been stored. */
  begin(abort: (reason: unknown) => void): () => void {
    const turn: ActiveTurn = { abort };
    this.turns.add(turn);
    return () => {
      this.turns.delete(turn);
      turn.ended?.();
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
    const all = () =>
      Promise.all(
        [...this.turns].map(
          (turn) =>
            new Promise<void>((resolve) => {
              const previous = turn.ended;
              turn.ended = () => {
                previous?.();
                resolve();
              };
            }),
        ),
      );
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
