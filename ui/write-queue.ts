/**
 * Writes run one after another in the order pushed. A failed write fails `drain()` (and skips the writes after it);
 * it is never an unhandled rejection while the parser is still running.
 */
export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  private failure?: { error: unknown };

  push(write: () => Promise<void>): Promise<void> {
    this.tail = this.tail.then(() => (this.failure ? undefined : write())).catch((error: unknown) => {
      this.failure ??= { error };
    });
    return this.tail;
  }

  async drain(): Promise<void> {
    await this.tail;
    if (this.failure) throw this.failure.error;
  }
}
