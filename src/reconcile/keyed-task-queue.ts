/**
 * A task queue with bounded concurrency that keeps the tasks of one key in order. The watcher and
 * the controller call Temporal from informer callbacks: those must return at once (a burst of
 * 1,000 pod updates may not stall the watch), the number of calls in flight must stay bounded (a
 * worker must not open 1,000 concurrent RPCs), and two calls for the same session must not
 * overtake each other (a runner's `started` must reach its workflow before its `ended`).
 */

/** A unit of work. It must handle its own errors; a rejection is only counted, never rethrown. */
export type Task = () => Promise<void>;

/** Counters for logs and tests. */
export interface KeyedTaskQueueStats {
  /** Tasks running now (at most the concurrency). */
  active: number;
  /** Tasks waiting, over all keys. */
  queued: number;
  /** Tasks that rejected, which is a bug in the task. */
  rejected: number;
}

/** Runs tasks at most `concurrency` at a time, one at a time per key, in push order per key. */
export class KeyedTaskQueue {
  /** Waiting and running tasks per key; the head of a list is the running or next task. */
  private readonly byKey = new Map<string, Task[]>();
  /** Keys whose head task may start: present in `byKey` and not running. */
  private readonly ready: string[] = [];
  private readyHead = 0;
  private active = 0;
  private queued = 0;
  private rejected = 0;
  private idleWaiters: Array<() => void> = [];

  /** @param concurrency The most tasks running at once, over all keys. */
  constructor(private readonly concurrency: number) {
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`concurrency must be a whole number from 1, got ${concurrency}`);
    }
  }

  /** Queues `task` behind the earlier tasks of `key`; returns at once. */
  push(key: string, task: Task): void {
    this.queued += 1;
    const tasks = this.byKey.get(key);
    if (tasks) {
      // The key is running or already ready: its tasks run in order once the head is done.
      tasks.push(task);
      return;
    }
    this.byKey.set(key, [task]);
    this.ready.push(key);
    this.pump();
  }

  /** Current counters. */
  stats(): KeyedTaskQueueStats {
    return { active: this.active, queued: this.queued, rejected: this.rejected };
  }

  /** Resolves once nothing is running or waiting. */
  onIdle(): Promise<void> {
    if (this.active === 0 && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active < this.concurrency && this.readyHead < this.ready.length) {
      const key = this.ready[this.readyHead]!;
      this.readyHead += 1;
      const tasks = this.byKey.get(key)!;
      const task = tasks[0]!;
      this.active += 1;
      this.queued -= 1;
      void this.run(task).finally(() => {
        this.active -= 1;
        tasks.shift();
        if (tasks.length > 0) this.ready.push(key);
        else this.byKey.delete(key);
        this.compactReady();
        this.pump();
        this.notifyIdle();
      });
    }
  }

  private async run(task: Task): Promise<void> {
    try {
      await task();
    } catch {
      this.rejected += 1;
    }
  }

  /** Drops consumed entries so the ready list does not grow without bound. */
  private compactReady(): void {
    if (this.readyHead === this.ready.length) {
      this.ready.length = 0;
      this.readyHead = 0;
    } else if (this.readyHead > 1024 && this.readyHead * 2 > this.ready.length) {
      this.ready.splice(0, this.readyHead);
      this.readyHead = 0;
    }
  }

  private notifyIdle(): void {
    if (this.active !== 0 || this.queued !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
