/**
 * The runtime library's entry: a state root and the verbs on it. The runc-compatible CLI and
 * (later) the daemon both drive containers through this, in-process.
 */

import { StateStore, DEFAULT_STATE_ROOT } from './state/state-store.ts';

export interface RuntimeOptions {
  root?: string;
  /** Where warnings go (failed poststart/poststop hooks...). */
  warn?: (message: string) => void;
}

export class Runtime {
  readonly store: StateStore;
  readonly warn: (message: string) => void;

  constructor(options: RuntimeOptions = {}) {
    this.store = new StateStore(options.root ?? DEFAULT_STATE_ROOT);
    this.warn = options.warn ?? ((message) => process.stderr.write(`warning: ${message}\n`));
  }
}
