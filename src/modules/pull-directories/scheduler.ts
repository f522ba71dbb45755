import type { Container } from '../../container.js';
import type { PullRunner } from './runner.js';
import * as q from './queries.js';
import { IntervalJob } from '../../platform/interval-job.js';

/**
 * Runs pull directories when their `next_run_at` comes. Every server instance runs this timer; the
 * per-directory lease lets one of them run each directory, and a killed run is taken over once its
 * lease expires (it resumes from the saved cursor).
 */
export class PullScheduler extends IntervalJob {
  constructor(
    private readonly c: Container,
    private readonly runner: PullRunner,
    tickMs = 10_000,
  ) {
    super(tickMs);
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

  protected override onStop(): void {
    this.runner.stop();
  }
}
