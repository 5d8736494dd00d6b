/**
 * The OCI runtime library: bundle → running container, and every verb runc has. The CLI and the
 * daemon import only this file.
 */

export { Runtime, type RuntimeOptions } from './runtime.ts';
export { create, type CreateOptions } from './create.ts';
export { start } from './start.ts';
export { run, type RunOptions } from './run.ts';
export { kill, parseSignal } from './kill.ts';
export { deleteContainer } from './delete.ts';
export { exec, waitExit, type ExecOptions, type ExitReport } from './exec.ts';
export { pause, resume } from './pause.ts';
export { update, mergeResources } from './update.ts';
export { containerState, containerStatus } from './status.ts';
export { features } from './features.ts';
export { keepMigrationLockWarm, loadCgroup, warmCgroupMigrationSoon } from './cgroup.ts';
export { keepStateInMemory, type StateRootKind } from './state/memory-root.ts';
export { mountOnHost, unmountOnHost, shimMounter, prepareSpareShims, releaseStandingShims, type HostMount } from './host-mount.ts';
export { toState, type ContainerRecord } from './state/state-store.ts';
export { defaultSpec } from './spec/default-spec.ts';
export { loadSpec, parseSpec } from './spec/load-spec.ts';
export { compileInitPlan, type MonitorStdio } from './plan/compile.ts';
export { AttachClient, AttachStream, type AttachEnd, type AttachHandlers } from './shim/attach-client.ts';
export { readLogs, timeNs, type LogEntry, type ReadLogsOptions } from './shim/log-reader.ts';
export { psTable } from './ps.ts';
