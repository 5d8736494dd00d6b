/**
 * `/version` and `/info`: facts about this host and daemon in Docker's shapes, so the docker
 * CLI's `version` and `info` print every line they know.
 */

import { arch, cpus, hostname, release, totalmem } from 'node:os';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { InfoResponse, VersionResponse } from '../api/index.ts';
import { API_VERSION, ENGINE_VERSION, MIN_API_VERSION } from '../api/index.ts';

/** Node's names → Go's, which clients expect. */
export function goArch(nodeArch = arch()): string {
  return ({ x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' } as Record<string, string>)[nodeArch] ?? nodeArch;
}

export function versionInfo(gitCommit = 'unknown', buildTime = new Date(0).toISOString()): VersionResponse {
  const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: gitCommit, GoVersion: `node ${process.version}`, Os: 'linux', Arch: goArch(), KernelVersion: release(), BuildTime: buildTime, Experimental: 'false' };
  return {
    Platform: { Name: 'Berth Engine' },
    Components: [{ Name: 'Engine', Version: ENGINE_VERSION, Details: details }],
    Version: ENGINE_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: gitCommit,
    GoVersion: `node ${process.version}`,
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: release(),
    BuildTime: buildTime,
  };
}

async function operatingSystem(): Promise<{ name: string; version: string }> {
  const text = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const field = (key: string): string => /^(\w+)=("?)(.*)\2$/m.exec(text.split('\n').find((l) => l.startsWith(`${key}=`)) ?? '')?.[3] ?? '';
  return { name: field('PRETTY_NAME') || 'Linux', version: field('VERSION_ID') };
}

export function cgroupVersion(): '1' | '2' {
  return existsSync('/sys/fs/cgroup/cgroup.controllers') ? '2' : '1';
}

export interface InfoFacts {
  containers: { total: number; running: number; paused: number; stopped: number };
  images: number;
  root: string;
  seccomp: boolean;
}

/** A stable daemon ID: Docker's is a random UUID kept on disk; ours derives from the host and root. */
function daemonId(root: string): string {
  const hex = createHash('sha256').update(`${hostname()}:${root}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export async function systemInfo(facts: InfoFacts): Promise<InfoResponse> {
  const os = await operatingSystem();
  const v2 = cgroupVersion() === '2';
  return {
    ID: daemonId(facts.root),
    Containers: facts.containers.total,
    ContainersRunning: facts.containers.running,
    ContainersPaused: facts.containers.paused,
    ContainersStopped: facts.containers.stopped,
    Images: facts.images,
    Driver: 'overlay2',
    DriverStatus: [
      ['Backing Filesystem', 'extfs'],
      ['Supports d_type', 'true'],
      ['Using metacopy', 'false'],
      ['Native Overlay Diff', 'true'],
      ['userxattr', 'false'],
    ],
    Plugins: { Volume: ['local'], Network: ['none'], Authorization: null, Log: ['json-file'] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: false,
    Debug: false,
    NFd: 0,
    OomKillDisable: !v2,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroupVersion(),
    NEventsListener: 0,
    KernelVersion: release(),
    OperatingSystem: os.name,
    OSVersion: os.version,
    OSType: 'linux',
    Architecture: arch() === 'x64' ? 'x86_64' : arch() === 'arm64' ? 'aarch64' : arch(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { InsecureRegistryCIDRs: ['::1/128', '127.0.0.0/8'], IndexConfigs: {}, Mirrors: [] },
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: facts.root,
    HttpProxy: process.env['HTTP_PROXY'] ?? process.env['http_proxy'] ?? '',
    HttpsProxy: process.env['HTTPS_PROXY'] ?? process.env['https_proxy'] ?? '',
    NoProxy: process.env['NO_PROXY'] ?? process.env['no_proxy'] ?? '',
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: ENGINE_VERSION,
    Runtimes: { berth: { path: 'berth-runtime' } },
    DefaultRuntime: 'berth',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: true,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '' },
    RuncCommit: { ID: '' },
    InitCommit: { ID: '' },
    SecurityOptions: [...(facts.seccomp ? ['name=seccomp,profile=builtin'] : []), ...(v2 ? ['name=cgroupns'] : [])],
    Warnings: facts.seccomp ? null : ['WARNING: no seccomp profile found: containers run without seccomp'],
  };
}
