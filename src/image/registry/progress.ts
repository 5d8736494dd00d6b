/**
 * Progress events of pulls and pushes, shaped like the lines docker prints (one per layer, a
 * status and a byte count), so the API can forward them as Docker's JSON progress stream.
 */

export type PullStatus = 'Waiting' | 'Downloading' | 'Verifying Checksum' | 'Download complete' | 'Already exists';

export type PushStatus = 'Waiting' | 'Pushing' | 'Pushed' | 'Layer already exists' | 'Mounted';

export interface ProgressEvent<S extends string = PullStatus> {
  /** Short layer id: the first 12 hex digits of the blob digest. */
  id: string;
  status: S;
  current?: number;
  total?: number;
  /** For 'Mounted': the repository the blob was mounted from. */
  from?: string;
}

export type PullProgress = ProgressEvent<PullStatus>;
export type PushProgress = ProgressEvent<PushStatus>;

/**
 * Runs `fn` over `items` with at most `limit` in flight. After the first failure no new item
 * starts; running ones are left to finish (their cleanup must run) and the first error is thrown.
 */
export async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}
