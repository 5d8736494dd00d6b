/**
 * Container networking: network namespaces, CNI plugin chains (bridge, host-local, portmap,
 * firewall), subnet choice, published ports and the warm pool. The daemon uses NetworkManager;
 * the rest is exported for tests and tools.
 */
export { NetworkManager, DEFAULT_NETWORK } from './manager.ts';
export type { NetworkManagerOptions, CreateNetworkOptions, AttachOptions, Endpoint, Sandbox, NetworkInspect } from './manager.ts';
export { dockerPorts, mappingsFromDocker, parsePublish, PortRegistry, probeHostPort } from './ports/ports.ts';
export type { PortBindings, PortMapping, PortProtocol } from './ports/ports.ts';
export { createNetns, deleteNetns, listNetns, netnsPath, iprouteName, NETNS_DIR } from './netns/netns.ts';
export { WarmPool } from './pool/pool.ts';
export { CniError } from './cni/errors.ts';
export { pickSubnet, hostPrefixes, parseCidr, formatCidr, overlaps } from './ipam/cidr.ts';
export type { Prefix } from './ipam/cidr.ts';
