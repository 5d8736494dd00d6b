/**
 * Platforms (`linux/arm64/v8`): parsing what `--platform` takes, normalising the many spellings
 * of one CPU (x86_64 = amd64, aarch64 = arm64, arm64 without variant = arm64/v8), and choosing
 * the best entry of an image index for the platform we run on. An image index usually lists
 * one manifest per platform plus attestation entries (`unknown/unknown`) that must never win.
 */

import { invalidArgument, notFound } from '../../util/errors.ts';
import type { Descriptor, Index, Platform } from '../../oci/image-spec.ts';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  x64: { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  x86: { architecture: '386' },
  ia32: { architecture: '386' },
};

/** Node's `process.arch` → OCI architecture. */
const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips: 'mips',
  mipsel: 'mipsle',
  loong64: 'loong64',
};

/** Normal form: lowercase, canonical arch, arm64 → v8, arm → v7 default, amd64/v1 → no variant. */
export function normalizePlatform(platform: PlatformSpec | Platform): PlatformSpec {
  const os = platform.os.toLowerCase() === 'macos' ? 'darwin' : platform.os.toLowerCase();
  let architecture = platform.architecture.toLowerCase();
  let variant = platform.variant?.toLowerCase() || undefined;
  const alias = ARCH_ALIASES[architecture];
  if (alias) {
    architecture = alias.architecture;
    variant = variant ?? alias.variant;
  }
  if (architecture.startsWith('armv') && /^armv[5-8]$/.test(architecture)) {
    variant = `v${architecture.slice(4)}`;
    architecture = architecture === 'armv8' ? 'arm64' : 'arm';
  }
  if (variant !== undefined && /^[0-9]+$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'arm64' && (variant === undefined || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}

/** Parses `os[/arch[/variant]]` (or a bare arch, taken as linux/arch) as `--platform` does. */
export function parsePlatform(spec: string): PlatformSpec {
  const parts = spec.split('/');
  if (parts.length > 3 || parts.some((p) => p === '' || !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw invalidArgument(`parse platform ${JSON.stringify(spec)}: invalid platform, expected os/arch[/variant]`);
  }
  if (parts.length === 1) {
    const only = parts[0]!;
    // "linux" alone means the host's arch on linux; "arm64" alone means linux/arm64.
    if (only.toLowerCase() === 'linux') return { ...defaultPlatform(), os: 'linux' };
    return normalizePlatform({ os: 'linux', architecture: only });
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}

export function formatPlatform(platform: PlatformSpec): string {
  return [platform.os, platform.architecture, platform.variant].filter(Boolean).join('/');
}

/** linux/<process.arch>: images run in Linux containers whatever the host OS reports. */
export function defaultPlatform(): PlatformSpec {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>)['arm_version'];
    return normalizePlatform({ os: 'linux', architecture, variant: typeof v === 'string' ? `v${v}` : 'v7' });
  }
  return normalizePlatform({ os: 'linux', architecture });
}

/**
 * How well `candidate` serves `wanted`: 0 = exact, higher = worse but runnable (an older
 * variant of the same family: amd64/v2 on a v3 host, arm/v6 on a v7 host), -1 = cannot run.
 * A wanted platform without a variant accepts every variant, preferring the default one.
 */
export function platformRank(wanted: PlatformSpec, candidate: PlatformSpec | Platform): number {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return -1;
  if (w.variant === c.variant) return 0;
  const wv = variantLevel(w);
  const cv = variantLevel(c);
  if (wantedVariantExplicit(wanted)) {
    // An explicit variant runs its own and older ones (amd64 levels, arm versions).
    if (wv !== undefined && cv !== undefined && cv < wv) return wv - cv;
    return -1;
  }
  // No variant asked for: any variant, the plainest first.
  return 1 + (cv ?? 0);
}

function wantedVariantExplicit(p: PlatformSpec): boolean {
  return p.variant !== undefined && p.variant !== '';
}

function variantLevel(p: PlatformSpec): number | undefined {
  if (p.variant === undefined) return p.architecture === 'amd64' ? 1 : undefined;
  const m = /^v([0-9]+)$/.exec(p.variant);
  return m ? Number(m[1]) : undefined;
}

export function platformMatches(wanted: PlatformSpec, candidate: PlatformSpec | Platform): boolean {
  return platformRank(wanted, candidate) >= 0;
}

/**
 * The index entry to pull for `wanted`: the best-ranked entry, the earliest among equals
 * (index order is the publisher's preference). Entries without a platform are skipped.
 */
export function selectManifest(index: Index, wanted: PlatformSpec = defaultPlatform()): Descriptor {
  let best: { desc: Descriptor; rank: number } | undefined;
  for (const desc of index.manifests) {
    if (!desc.platform) continue;
    const rank = platformRank(wanted, desc.platform);
    if (rank < 0) continue;
    if (!best || rank < best.rank) best = { desc, rank };
  }
  if (!best) throw notFound(`no matching manifest for ${formatPlatform(normalizePlatform(wanted))} in the manifest list entries`);
  return best.desc;
}
