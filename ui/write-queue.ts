/**
 * Writes run one after another in the order pushed. A failed write fails `drain()` and skips the writes after it.
 */
export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private failure?: { error: unknown };

  /**
   * Queue a write. The promise settles when it has run: it rejects when this write (or an earlier one) failed, so a
   * producer that waits on it can stop early; one that does not must still attach a handler (`drain()` reports it).
   */
  push(write: () => Promise<void>): Promise<void> {
    const done = this.tail.then(() => {
      if (this.failure) throw this.failure.error;
      return write();
    });
    this.tail = done.catch((error: unknown) => {
      this.failure ??= { error };
    });
    return done;
  }

  async drain(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure.error;
  }
}
