/** What drained() needs of a writable: a node stream, or the client's own socket types. */
export interface Drainable {
  readonly destroyed: boolean;
  once(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  off(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
}

/**
 * Resolves once what the stream holds has gone out ('drain'), or it can take no more (closed,
 * failed): a writer that waits for it goes at its reader's pace. The caller knows whether
 * there is anything to wait for (write() returned false, writableNeedDrain, writableLength).
 */
export function drained(stream: Drainable): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}
