/**
 * v1 devices controller: OCI device rules → devices.deny/devices.allow lines. Like runc, the
 * list starts from deny-all (`a` to devices.deny) and then replays the rules in order, so the
 * result does not depend on what the cgroup allowed before.
 */

import type { DeviceCgroup } from '../../oci/runtime-spec.ts';
import { invalidArgument } from '../../util/errors.ts';
import type { CgroupWrite } from '../cgroup-file.ts';

/** `c 1:3 rwm`; missing type is `a`, missing or null numbers are `*`, missing access is `rwm`. */
export function deviceRuleLine(rule: DeviceCgroup): string {
  const type = rule.type ?? 'a';
  if (!['a', 'b', 'c'].includes(type)) throw invalidArgument(`set device rule: invalid type ${JSON.stringify(type)}`);
  const access = rule.access ?? 'rwm';
  if (!/^[rwm]{1,3}$/.test(access)) throw invalidArgument(`set device rule: invalid access ${JSON.stringify(access)}`);
  const number = (value: number | null | undefined) => (value === undefined || value === null || value < 0 ? '*' : String(value));
  return `${type} ${number(rule.major)}:${number(rule.minor)} ${access}`;
}

export function v1DevicesWrites(rules: DeviceCgroup[] | undefined): CgroupWrite[] {
  if (!rules) return [];
  return [
    { file: 'devices.deny', value: 'a' },
    ...rules.map((rule) => ({ file: rule.allow ? 'devices.allow' : 'devices.deny', value: deviceRuleLine(rule) })),
  ];
}
