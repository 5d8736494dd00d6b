import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs, requireArgs, UsageError } from './args.ts';

const specs = {
  all: { type: 'bool' as const, short: 'a' },
  quiet: { type: 'bool' as const, short: 'q' },
  output: { type: 'string' as const, short: 'o' },
  filter: { type: 'list' as const, short: 'f' },
};

describe('parseArgs', () => {
  it('parses long, short, combined and attached forms, flags after arguments', () => {
    const p = parseArgs(['-qa', 'img', '--output=x.tar', '-f', 'a=1', '--filter', 'b=2', '-fc=3', '-oy'], specs);
    assert.deepEqual(p.args, ['img']);
    assert.equal(p.flags['quiet'], true);
    assert.equal(p.flags['all'], true);
    assert.equal(p.flags['output'], 'y');
    assert.deepEqual(p.flags['filter'], ['a=1', 'b=2', 'c=3']);
  });

  it('treats everything after -- as arguments, and --flag=false as false', () => {
    const p = parseArgs(['--all=false', '--', '-q'], specs);
    assert.equal(p.flags['all'], false);
    assert.deepEqual(p.args, ['-q']);
  });

  it('stops at the first argument for global options', () => {
    const p = parseArgs(['--output', 'r', 'images', '-q'], specs, { stopAtFirstArg: true });
    assert.deepEqual(p.args, ['images', '-q']);
  });

  it('reports unknown flags and missing values as usage errors', () => {
    assert.throws(() => parseArgs(['--nope'], specs), (e: unknown) => e instanceof UsageError && e.message === 'unknown flag: --nope');
    assert.throws(() => parseArgs(['-z'], specs), /unknown shorthand flag: 'z' in -z/);
    assert.throws(() => parseArgs(['--output'], specs), /flag needs an argument: --output/);
  });
});

describe('requireArgs', () => {
  it('words the count like docker', () => {
    assert.throws(() => requireArgs([], 'tag', 'SRC DST', 2), /"tag" requires exactly 2 arguments/);
    assert.throws(() => requireArgs([], 'rmi', 'IMAGE...', 1, Infinity), /"rmi" requires at least 1 argument\./);
    assert.doesNotThrow(() => requireArgs(['a'], 'images', '', 0, 1));
  });
});
