/**
 * CNI 1.0 wire types: network configuration lists, plugin results and errors, as the spec
 * (containernetworking/cni SPEC.md, version 1.0.0) defines them. Only the fields Berth reads or
 * writes are typed; everything else passes through untouched.
 */

export const CNI_VERSION = '1.0.0';

export interface PluginConf {
  readonly type: string;
  readonly capabilities?: Readonly<Record<string, boolean>>;
  readonly [key: string]: unknown;
}

export interface NetConfList {
  readonly cniVersion: string;
  readonly name: string;
  readonly disableCheck?: boolean;
  readonly plugins: readonly PluginConf[];
}

export interface CniInterface {
  readonly name: string;
  readonly mac?: string;
  readonly sandbox?: string;
}

export interface CniIpConfig {
  readonly address: string;
  readonly gateway?: string;
  readonly interface?: number;
}

export interface CniRoute {
  readonly dst: string;
  readonly gw?: string;
}

export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces?: readonly CniInterface[];
  readonly ips?: readonly CniIpConfig[];
  readonly routes?: readonly CniRoute[];
  readonly dns?: Readonly<Record<string, unknown>>;
}

/** What a plugin prints on failure (spec §"Error"). */
export interface CniErrorBody {
  readonly cniVersion?: string;
  readonly code: number;
  readonly msg: string;
  readonly details?: string;
}

/** Per-call runtime data (spec §"Deriving runtimeConfig"): sent only to plugins declaring the capability. */
export interface RuntimeConfig {
  readonly portMappings?: readonly CniPortMapping[];
  readonly ips?: readonly string[];
  readonly [key: string]: unknown;
}

export interface CniPortMapping {
  readonly hostPort: number;
  readonly containerPort: number;
  readonly protocol: 'tcp' | 'udp' | 'sctp';
  readonly hostIP?: string;
}

/** Identity of one attachment: CNI's (network, container, interface) triple. */
export interface Attachment {
  readonly containerId: string;
  readonly netns: string;
  readonly ifName: string;
  readonly args?: string;
  readonly runtimeConfig?: RuntimeConfig;
}
