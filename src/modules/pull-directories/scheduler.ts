import type { Container } from '../../container.js';
import type { PullRunner } from './runner.js';
import * as q from './queries.js';

/**
 * Runs pull directories when their `next_run_at` comes. Every server instance runs this timer; the
 * per-directory lease lets one of them run each directory, and a killed run is taken over once its
 * lease expires (it resumes from the saved cursor).
 */
export class PullScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly c: Container,
    private readonly runner: PullRunner,
    private readonly tickMs = 10_000,
  ) {}

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.tick().finally(() => (this.running = undefined));
    }, this.tickMs);
    this.timer.unref();
  }

  /** One pass over the due directories, one at a time. */
  async tick(): Promise<void> {
    try {
      const due = await q.dueDirectories(this.c.db, this.c.clock.now().toISOString(), 10);
      for (const d of due) {
        if (this.stopped) return;
        await this.runner.run(d.directory_id, 'schedule');
      }
    } catch (err) {
      this.c.logger.error({ err }, 'pull scheduler tick failed');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.runner.stop();
    await this.running;
  }
}
