/**
 * The config list Berth writes for a bridge network: bridge (veth pair, host-local IPAM,
 * gateway, masquerade), portmap (published ports as DNAT, snat for 127.0.0.1 and hairpin) and
 * firewall (accepts the container's forwarded traffic on hosts whose FORWARD policy is drop).
 * An internal network has no gateway route, no masquerade and no portmap.
 */

import { CNI_VERSION } from './types.ts';
import type { NetConfList, PluginConf } from './types.ts';

export interface BridgeNetworkSpec {
  /** CNI network name (Berth prefixes its networks: lease directories are shared with other CNI users). */
  readonly cniName: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly gateway: string;
  readonly internal: boolean;
  readonly mtu?: number;
}

export function bridgeConflist(spec: BridgeNetworkSpec): NetConfList {
  const bridge: PluginConf = {
    type: 'bridge',
    bridge: spec.bridge,
    isGateway: !spec.internal,
    ipMasq: !spec.internal,
    hairpinMode: true,
    ...(spec.mtu === undefined ? {} : { mtu: spec.mtu }),
    ipam: {
      type: 'host-local',
      ranges: [[{ subnet: spec.subnet, gateway: spec.gateway }]],
      routes: spec.internal ? [] : [{ dst: '0.0.0.0/0' }],
    },
  };
  const plugins: PluginConf[] = [bridge];
  if (!spec.internal) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  plugins.push({ type: 'firewall', backend: 'iptables' });
  return { cniVersion: CNI_VERSION, name: spec.cniName, plugins };
}
