import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { parse, splitGlobal, type OptionSpec } from './args.ts';

const OPTIONS: OptionSpec = {
  bundle: { type: 'string', short: 'b' },
  detach: { type: 'boolean', short: 'd' },
  keep: { type: 'boolean', short: 'k' },
  env: { type: 'string', short: 'e', multiple: true },
  'pid-file': { type: 'string' },
};

/** What node:util's parseArgs (which the runtime CLI used before) makes of the same arguments. */
function reference(args: string[]): { values: Record<string, unknown>; positionals: string[] } | { error: string } {
  try {
    const { values, positionals } = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    return { values: { ...values }, positionals };
  } catch (err) {
    return { error: (err as Error).message.replace(/\. To specify a positional.*$/s, '') };
  }
}

function ours(args: string[]): { values: Record<string, unknown>; positionals: string[] } | { error: string } {
  try {
    const { values, positionals } = parse(args, OPTIONS, 'run');
    return { values: { ...values }, positionals };
  } catch (err) {
    return { error: (err as Error).message.replace(/^run: /, '') };
  }
}

test('parse matches node:util parseArgs (strict, positionals) on values, positionals and errors', () => {
  const cases = [
    ['id'],
    ['--bundle', '/b', 'id'],
    ['--bundle=/b', 'id', 'extra'],
    ['-b', '/b', '-d', 'id'],
    ['-b/b', 'id'],
    ['-dk', 'id'],
    ['-db', '/b', 'id'],
    ['-dbX', 'id'],
    ['--detach', '--keep', 'id'],
    ['-e', 'A=1', '--env', 'B=2', '-eC=3', 'id'],
    ['--bundle', '/a', '--bundle', '/b', 'id'],
    ['--pid-file=', 'id'],
    ['id', '--detach'],
    ['--', '--detach', 'id'],
    ['-', 'id'],
    ['--no-such-flag', 'x'],
    ['-x', 'id'],
    ['-dx', 'id'],
    ['--bundle'],
    ['-b'],
    ['--bundle', '--detach', 'id'],
    ['--bundle', '-', 'id'],
    ['-b', '-d', 'id'],
    ['-d', '-b', '--keep'],
    ['--detach=yes', 'id'],
  ];
  for (const args of cases) assert.deepEqual(ours(args), reference(args), args.join(' '));
});

test('parse accepts runc\'s single-dash long flags', () => {
  assert.deepEqual(parse(['-bundle', '/b', '-detach', 'id'], OPTIONS, 'run'), { values: { bundle: '/b', detach: true }, positionals: ['id'] });
});

test('parse names the command in its errors', () => {
  assert.throws(() => parse(['--no-such-flag'], OPTIONS, 'create'), { message: "create: Unknown option '--no-such-flag'" });
});

test('splitGlobal separates the global flags from the verb and its arguments', () => {
  const split = splitGlobal(['--root', '/r', '--log-format=json', 'run', '-b', '/b', 'id']);
  assert.equal(split.global.root, '/r');
  assert.equal(split.global.logFormat, 'json');
  assert.equal(split.verb, 'run');
  assert.deepEqual(split.rest, ['-b', '/b', 'id']);
});
