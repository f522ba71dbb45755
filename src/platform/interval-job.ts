/**
 * A timer that runs `tick()` every `tickMs`, never two ticks at once, and unref'd so it does not keep
 * the process alive. `stop()` waits for a tick under way; a tick checks `stopped` between items.
 * Used by the schedulers every instance runs (pull directories, SAML metadata refresh), whose
 * per-item leases in `job_locks` decide which instance does each item.
 */
export abstract class IntervalJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  protected stopped = false;

  constructor(private readonly tickMs: number) {}

  /** One pass over the due items. Must not throw (log instead): the timer keeps going. */
  abstract tick(): Promise<void>;

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.tick().finally(() => (this.running = undefined));
    }, this.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.onStop();
    await this.running;
  }

  /** Called once `stop` has cleared the timer, before it waits for the tick under way. */
  protected onStop(): void {}
}
