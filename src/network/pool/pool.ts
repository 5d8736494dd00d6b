/**
 * A warm pool of network namespaces already attached to the default network, so that starting a
 * container on it costs file renames instead of a namespace and a CNI chain (tens of
 * milliseconds). The pool knows nothing of CNI: it asks its backend to create and destroy
 * entries, refills one at a time in the background (so it never competes with a burst of starts
 * for both cores), a little after a take so that the start which took the entry finishes first,
 * and on drain destroys everything it holds, including entries still being made.
 */

import { randomBytes } from 'node:crypto';

export interface PoolBackend {
  /** Makes a ready entry under `id` (namespace + attachment); must clean up after itself on failure. */
  create(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
}

export const POOL_PREFIX = 'pool-';

export class WarmPool {
  readonly size: number;
  readonly #backend: PoolBackend;
  readonly #ready: string[] = [];
  #inflight: string | undefined;
  #filling: Promise<void> | undefined;
  #draining = false;
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  /** The last refill failure, kept for diagnosis (refills stop until the next replenish or start). */
  lastError: unknown;

  constructor(size: number, backend: PoolBackend) {
    this.size = size;
    this.#backend = backend;
  }

  static isPoolId(id: string): boolean {
    return id.startsWith(POOL_PREFIX);
  }

  /** Ids this pool owns right now (ready or being made): reconcile must not touch them. */
  owned(): Set<string> {
    const ids = new Set(this.#ready);
    if (this.#inflight !== undefined) ids.add(this.#inflight);
    return ids;
  }

  get readyCount(): number {
    return this.#ready.length;
  }

  start(): void {
    this.#started = true;
    this.#draining = false;
    this.lastError = undefined;
    this.#refill();
  }

  /**
   * A ready entry's id, removed from the pool (the caller now owns it), or undefined when empty.
   * Does not refill: spawning the replacement while the caller is still adopting the entry would
   * slow the very start the pool exists to speed up; the caller calls `replenish()` when done.
   */
  take(): string | undefined {
    return this.#ready.shift();
  }

  /**
   * Starts refilling in the background (after a take, or to retry after a failure); with a delay,
   * `delayMs` after the first call of a series (later calls do not postpone it further, so a
   * steady stream of starts still finds the pool refilled now and then).
   */
  replenish(delayMs = 0): void {
    this.lastError = undefined;
    if (delayMs <= 0) {
      this.#cancelTimer();
      this.#refill();
      return;
    }
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#refill();
    }, delayMs);
    // A pending refill must not keep a process alive that has nothing else to do.
    this.#timer.unref();
  }

  #cancelTimer(): void {
    if (this.#timer === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Resolves once the pool holds `size` ready entries (or refilling stopped on an error); a delayed refill starts now. */
  async filled(): Promise<void> {
    if (this.#timer !== undefined) {
      this.#cancelTimer();
      this.#refill();
    }
    while (this.#filling !== undefined) await this.#filling;
  }

  #refill(): void {
    if (!this.#started || this.#draining || this.#filling !== undefined || this.size <= 0) return;
    this.#filling = this.#fill().finally(() => {
      this.#filling = undefined;
    });
  }

  async #fill(): Promise<void> {
    while (!this.#draining && this.lastError === undefined && this.#ready.length < this.size) {
      const id = `${POOL_PREFIX}${randomBytes(8).toString('hex')}`;
      this.#inflight = id;
      try {
        await this.#backend.create(id);
        this.#ready.push(id);
      } catch (err) {
        this.lastError = err;
      } finally {
        this.#inflight = undefined;
      }
    }
  }

  /** Stops refilling and destroys every entry; the pool can be started again afterwards. */
  async drain(): Promise<void> {
    this.#draining = true;
    this.#cancelTimer();
    await this.filled();
    let first: unknown;
    while (this.#ready.length > 0) {
      const id = this.#ready.shift()!;
      try {
        await this.#backend.destroy(id);
      } catch (err) {
        first ??= err;
      }
    }
    this.#started = false;
    if (first !== undefined) throw first;
  }
}
