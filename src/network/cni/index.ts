/** CNI 1.0 plumbing: plugin chains, the attachment cache, plugin errors, Berth's config lists. */
export { CniRunner, DEFAULT_PLUGIN_DIRS } from './runner.ts';
export type { PluginTiming } from './runner.ts';
export { AttachmentCache, CACHE_KIND } from './cache.ts';
export type { CacheEntry } from './cache.ts';
export { CniError, pluginError } from './errors.ts';
export { bridgeConflist } from './conflist.ts';
export type { BridgeNetworkSpec } from './conflist.ts';
export * from './types.ts';
