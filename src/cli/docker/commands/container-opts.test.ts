import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, UsageError } from '../args.ts';
import { CREATE_FLAGS, OptionError, checkDeviceCgroupRule, createBody, healthConfig, parseDevice, parseEnvFile, parseExtraHost, parseGpus, parseMount, parseRestartPolicy, parseUlimit } from './container-opts.ts';
import { parseGoDuration } from '../../../util/go-duration.ts';

function body(argv: string[], env: NodeJS.ProcessEnv = {}): Record<string, unknown> {
  const { flags, args } = parseArgs([...argv, 'busybox'], CREATE_FLAGS, { stopAtFirstArg: true });
  return createBody(flags, args[0]!, args.slice(1), env);
}

function host(argv: string[]): Record<string, unknown> {
  return body(argv)['HostConfig'] as Record<string, unknown>;
}

function usage(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => err instanceof UsageError && err.message === message);
}

function option(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => err instanceof OptionError && err.message === message);
}

test('--ulimit: go-units syntax and messages, later names win', () => {
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Soft: 1024, Hard: 2048 });
  assert.deepEqual(parseUlimit('nproc=64'), { Name: 'nproc', Soft: 64, Hard: 64 });
  assert.deepEqual(parseUlimit('core=0:-1'), { Name: 'core', Soft: 0, Hard: -1 });
  usage(() => parseUlimit('x'), 'invalid argument "x" for "--ulimit" flag: invalid ulimit argument: x');
  usage(() => parseUlimit('foo=1'), 'invalid argument "foo=1" for "--ulimit" flag: invalid ulimit type: foo');
  usage(() => parseUlimit('nofile=2:1'), 'invalid argument "nofile=2:1" for "--ulimit" flag: ulimit soft limit must be less than or equal to hard limit: 2 > 1');
  usage(() => parseUlimit('nofile=a'), 'invalid argument "nofile=a" for "--ulimit" flag: strconv.ParseInt: parsing "a": invalid syntax');
  assert.deepEqual(host(['--ulimit', 'nofile=1', '--ulimit', 'nproc=5', '--ulimit', 'nofile=2:3'])['Ulimits'], [
    { Name: 'nofile', Soft: 2, Hard: 3 },
    { Name: 'nproc', Soft: 5, Hard: 5 },
  ]);
});

test('--device: host[:container][:rwm] as parseLinuxDevice reads it', () => {
  assert.deepEqual(parseDevice('/dev/fuse'), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' });
  assert.deepEqual(parseDevice('/dev/fuse:r'), { PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'r' });
  assert.deepEqual(parseDevice('/dev/null:/dev/mynull'), { PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rwm' });
  assert.deepEqual(parseDevice('/dev/null:/dev/mynull:rw'), { PathOnHost: '/dev/null', PathInContainer: '/dev/mynull', CgroupPermissions: 'rw' });
  option(() => parseDevice('a:b:c:d'), 'bad format for path: a:b:c:d');
  option(() => parseDevice('/dev/null:/x:rwx'), 'bad mode specified: rwx');
  option(() => parseDevice('/dev/null:rel'), 'rel is not an absolute path');
});

test('--device-cgroup-rule: docker\'s validator, rules sent as given', () => {
  assert.deepEqual(host(['--device-cgroup-rule', 'c 1:3 mr', '--device-cgroup-rule', 'b 7:* rmw', '--device-cgroup-rule', 'a *:* rwm'])['DeviceCgroupRules'], ['c 1:3 mr', 'b 7:* rmw', 'a *:* rwm']);
  assert.equal(host([])['DeviceCgroupRules'], undefined);
  usage(() => checkDeviceCgroupRule('x'), 'invalid argument "x" for "--device-cgroup-rule" flag: invalid device cgroup format \'x\'');
  // docker's CLI refuses the lone `a` the daemon accepts
  usage(() => host(['--device-cgroup-rule', 'a']), 'invalid argument "a" for "--device-cgroup-rule" flag: invalid device cgroup format \'a\'');
  usage(() => checkDeviceCgroupRule('c 1:3  r'), 'invalid argument "c 1:3  r" for "--device-cgroup-rule" flag: invalid device cgroup format \'c 1:3  r\'');
});

test('--add-host and --dns: docker\'s validators, sent as host:ip', () => {
  assert.equal(parseExtraHost('db:10.0.0.5'), 'db:10.0.0.5');
  assert.equal(parseExtraHost('db=10.0.0.5'), 'db:10.0.0.5');
  assert.equal(parseExtraHost('v6=::1'), 'v6:::1');
  assert.equal(parseExtraHost('v6:[::1]'), 'v6:::1');
  assert.equal(parseExtraHost('gw:host-gateway'), 'gw:host-gateway');
  usage(() => parseExtraHost('foo'), 'invalid argument "foo" for "--add-host" flag: bad format for add-host: "foo"');
  usage(() => parseExtraHost('foo:abc'), 'invalid argument "foo:abc" for "--add-host" flag: invalid IP address in add-host: "abc"');
  const h = host(['--add-host', 'a:1.2.3.4', '--dns', '10.0.0.1', '--dns-search', 'example.org', '--dns-option', 'ndots:2']);
  assert.deepEqual([h['ExtraHosts'], h['Dns'], h['DnsSearch'], h['DnsOptions']], [['a:1.2.3.4'], ['10.0.0.1'], ['example.org'], ['ndots:2']]);
  usage(() => host(['--dns', 'abc']), 'invalid argument "abc" for "--dns" flag: IP address is not correctly formatted: abc');
});

test('--mount: docker\'s key=value syntax for bind, volume and tmpfs', () => {
  assert.deepEqual(parseMount('type=bind,source=/srv,target=/data,readonly,bind-propagation=rslave'), { Type: 'bind', Source: '/srv', Target: '/data', ReadOnly: true, BindOptions: { Propagation: 'rslave' } });
  assert.deepEqual(parseMount('src=vol1,dst=/v,volume-nocopy,volume-label=a=b'), { Type: 'volume', Source: 'vol1', Target: '/v', VolumeOptions: { NoCopy: true, Labels: { a: 'b' } } });
  assert.deepEqual(parseMount('type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770'), { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1770 } });
  assert.deepEqual(parseMount('type=bind,src=./rel,dst=/r', '/home/me'), { Type: 'bind', Source: '/home/me/rel', Target: '/r' });
  assert.deepEqual(parseMount('"type=bind","src=/a,b",dst=/c,ro=false'), { Type: 'bind', Source: '/a,b', Target: '/c', ReadOnly: false });
  usage(() => parseMount('type=bind'), 'invalid argument "type=bind" for "--mount" flag: target is required');
  usage(() => parseMount('bogus'), 'invalid argument "bogus" for "--mount" flag: invalid field \'bogus\' must be a key=value pair');
  usage(() => parseMount('type=bind,src=/tmp,dst=/x,foo=1'), 'invalid argument "type=bind,src=/tmp,dst=/x,foo=1" for "--mount" flag: unexpected key \'foo\' in \'foo=1\'');
  usage(() => parseMount('type=volume,target=/x,readonly=maybe'), 'invalid argument "type=volume,target=/x,readonly=maybe" for "--mount" flag: invalid value for readonly: maybe');
  usage(() => parseMount('type=tmpfs,target=/x,tmpfs-size=abc'), 'invalid argument "type=tmpfs,target=/x,tmpfs-size=abc" for "--mount" flag: invalid value for tmpfs-size: abc');
  usage(() => parseMount('type=tmpfs,target=/x,volume-nocopy'), 'invalid argument "type=tmpfs,target=/x,volume-nocopy" for "--mount" flag: cannot mix \'volume-*\' options with mount type \'tmpfs\'');
  assert.deepEqual(host(['--mount', 'type=tmpfs,dst=/t'])['Mounts'], [{ Type: 'tmpfs', Target: '/t' }]);
});

test('--env-file and -e: files first, bare names from our environment', () => {
  assert.deepEqual(parseEnvFile('# comment\n\nA=1\n  B=two words\nFROM_HOST\nUNSET\r\nC=\n', { FROM_HOST: 'yes' }), ['A=1', 'B=two words', 'FROM_HOST=yes', 'C=']);
  option(() => parseEnvFile('BAD NAME=1', {}), "variable 'BAD NAME' contains whitespaces");
  option(() => parseEnvFile('=1', {}), "no variable name on line '=1'");
  const dir = mkdtempSync(join(tmpdir(), 'berth-env-file-'));
  try {
    writeFileSync(join(dir, 'env'), 'A=from-file\nB=b\n');
    writeFileSync(join(dir, 'labels'), 'team=red\n# no\n');
    const b = body(['--env-file', join(dir, 'env'), '-e', 'A=from-flag', '-e', 'HOME_VAR', '--label-file', join(dir, 'labels'), '-l', 'x=y'], { HOME_VAR: 'h' });
    assert.deepEqual(b['Env'], ['A=from-file', 'B=b', 'A=from-flag', 'HOME_VAR=h']);
    assert.deepEqual(b['Labels'], { team: 'red', x: 'y' });
    option(() => body(['--env-file', join(dir, 'nosuch')]), `open ${join(dir, 'nosuch')}: no such file or directory`);
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('--health-*: Go durations in nanoseconds, docker\'s checks', () => {
  const flags = (argv: string[]): ReturnType<typeof parseArgs>['flags'] => parseArgs(argv, CREATE_FLAGS).flags;
  assert.equal(healthConfig(flags([])), undefined);
  assert.deepEqual(healthConfig(flags(['--health-cmd', 'curl -f localhost', '--health-interval', '1m30s', '--health-retries', '4'])), {
    Test: ['CMD-SHELL', 'curl -f localhost'],
    Interval: 90e9,
    Timeout: 0,
    StartPeriod: 0,
    StartInterval: 0,
    Retries: 4,
  });
  assert.deepEqual(healthConfig(flags(['--health-timeout', '500ms'])), { Interval: 0, Timeout: 5e8, StartPeriod: 0, StartInterval: 0, Retries: 0 });
  assert.deepEqual(healthConfig(flags(['--no-healthcheck'])), { Test: ['NONE'] });
  option(() => healthConfig(flags(['--no-healthcheck', '--health-cmd', 'true'])), '--no-healthcheck conflicts with --health-* options');
  option(() => healthConfig(flags(['--health-interval', '-1s'])), '--health-interval cannot be negative');
  option(() => healthConfig(flags(['--health-retries', '-1'])), '--health-retries cannot be negative');
  usage(() => healthConfig(flags(['--health-interval', 'abc'])), 'invalid argument "abc" for "--health-interval" flag: time: invalid duration "abc"');
  assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
  assert.throws(() => parseGoDuration('5'), /time: missing unit in duration "5"/);
});

test('--restart, --gpus, integers and sizes: docker\'s parse errors', () => {
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(parseRestartPolicy('always'), { Name: 'always', MaximumRetryCount: 0 });
  option(() => parseRestartPolicy('on-failure:x'), 'invalid restart policy format: maximum retry count must be an integer');
  option(() => parseRestartPolicy(':3'), 'invalid restart policy format: no policy provided before colon');
  assert.deepEqual(parseGpus('all'), { Driver: '', Count: -1, DeviceIDs: null, Capabilities: [['gpu']], Options: null });
  assert.deepEqual(parseGpus('2'), { Driver: '', Count: 2, DeviceIDs: null, Capabilities: [['gpu']], Options: null });
  usage(() => parseGpus('foo=bar'), 'invalid argument "foo=bar" for "--gpus" flag: unexpected key \'foo\' in \'foo=bar\'');
  usage(() => host(['--stop-timeout', 'abc']), 'invalid argument "abc" for "--stop-timeout" flag: strconv.ParseInt: parsing "abc": invalid syntax');
  usage(() => host(['--pids-limit', 'x']), 'invalid argument "x" for "--pids-limit" flag: strconv.ParseInt: parsing "x": invalid syntax');
  usage(() => host(['--blkio-weight', 'x']), 'invalid argument "x" for "--blkio-weight" flag: strconv.ParseUint: parsing "x": invalid syntax');
  usage(() => host(['-c', 'x']), 'invalid argument "x" for "-c, --cpu-shares" flag: strconv.ParseInt: parsing "x": invalid syntax');
  usage(() => host(['--shm-size', 'x']), 'invalid argument "x" for "--shm-size" flag: invalid size: \'x\'');
  usage(() => host(['--memory', 'x']), 'invalid argument "x" for "-m, --memory" flag: invalid size: \'x\'');
  usage(() => host(['--sysctl', 'kernel.hostname=x']), 'invalid argument "kernel.hostname=x" for "--sysctl" flag: sysctl \'kernel.hostname=x\' is not allowed');
  const h = host(['--shm-size', '128m', '--sysctl', 'net.ipv4.ip_forward=1', '--oom-score-adj', '-500', '--blkio-weight', '300', '--cpuset-cpus', '0', '--pid', 'host', '--group-add', 'audio', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=2', '--gpus', 'all']);
  assert.equal(h['ShmSize'], 128 * 1024 * 1024);
  assert.deepEqual(h['Sysctls'], { 'net.ipv4.ip_forward': '1' });
  assert.equal(h['OomScoreAdj'], -500);
  assert.equal(h['BlkioWeight'], 300);
  assert.equal(h['CpusetCpus'], '0');
  assert.equal(h['PidMode'], 'host');
  assert.deepEqual(h['GroupAdd'], ['audio']);
  assert.deepEqual(h['LogConfig'], { Type: '', Config: { 'max-size': '1k', 'max-file': '2' } });
  assert.equal((h['DeviceRequests'] as unknown[]).length, 1);
  assert.equal(body(['--stop-timeout', '7'])['StopTimeout'], 7);
});
