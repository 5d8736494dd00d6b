/**
 * Gives a bench bundle the seccomp filter podman and berthd give their containers: the
 * containers-common profile (/usr/share/containers/seccomp.json, Docker's format) for Docker's
 * default capabilities, as `linux.seccomp` of the bundle's config.json. A runtime's `run` of
 * such a bundle is what podman or containerd ask of it; the plain bench bundle has no filter.
 *   node --import tsx bench/seccomp-bundle.ts BUNDLE [PROFILE]
 */

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../src/oci/runtime-spec.ts';
import { DOCKER_DEFAULT_CAPABILITIES } from '../src/runtime/security/index.ts';
import { fromDockerProfile, type DockerSeccompProfile } from '../src/runtime/security/seccomp/docker-profile.ts';
import { invalidArgument } from '../src/util/errors.ts';

const [bundle, profilePath = '/usr/share/containers/seccomp.json'] = process.argv.slice(2);
if (bundle === undefined) throw invalidArgument('usage: seccomp-bundle.ts BUNDLE [PROFILE]');
const configPath = join(bundle, 'config.json');
const spec = JSON.parse(readFileSync(configPath, 'utf8')) as Spec;
const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as DockerSeccompProfile;
spec.linux = { ...spec.linux, seccomp: fromDockerProfile(profile, { capabilities: [...DOCKER_DEFAULT_CAPABILITIES] }) as NonNullable<Spec['linux']>['seccomp'] };
writeFileSync(configPath, JSON.stringify(spec, null, 2));
