/**
 * Public surface of client/: the Engine API client berth uses to reach berthd.
 */

export { API_VERSION, ApiError, ConnectError, EngineClient } from './engine-client.ts';
export type { ApiResponse, Query, RequestOptions } from './engine-client.ts';
export { connectEngine, DEFAULT_HOST, hostOf, socketOf, startDaemon, withEngine } from './connect.ts';
export { Demuxer, STDERR, STDIN, STDOUT } from './stdcopy.ts';
export { jsonLines } from './json-lines.ts';
export type { EngineSocket } from './transport.ts';
