/**
 * Public surface of api/: the Docker Engine API's wire types and version constants, shared by
 * the server, the daemon and (later) the client. Pure: no I/O.
 */

export { API_VERSION, MIN_API_VERSION, ENGINE_NAME, ENGINE_VERSION, compareApiVersions } from './version.ts';
export type * from './types.ts';
