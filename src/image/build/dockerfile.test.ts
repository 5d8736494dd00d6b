import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDockerfile } from './dockerfile.ts';

describe('parseDockerfile', () => {
  it('reads stages, flags, exec and shell forms, continuations and comments', () => {
    const file = parseDockerfile(
      [
        'ARG BASE=busybox',
        '# a comment',
        'FROM $BASE AS build',
        'RUN echo one \\',
        '  # dropped inside a continuation',
        '  && echo two',
        'COPY --chown=1:2 --from=other a b /dst/',
        'CMD ["sh", "-c", "echo hi"]',
        '',
        'from scratch',
        'copy --from=build /x /x',
      ].join('\n'),
    );
    assert.equal(file.escape, '\\');
    assert.equal(file.globalArgs.length, 1);
    assert.equal(file.stages.length, 2);
    const [first, second] = file.stages;
    assert.equal(first!.name, 'build');
    assert.equal(first!.from.rest, '$BASE AS build');
    const [run, copy, cmd] = first!.instructions;
    assert.equal(run!.keyword, 'RUN');
    assert.equal(run!.rest, 'echo one   && echo two');
    assert.equal(run!.line, 4);
    assert.deepEqual([...copy!.flags], [['chown', '1:2'], ['from', 'other']]);
    assert.equal(copy!.rest, 'a b /dst/');
    assert.deepEqual(cmd!.json, ['sh', '-c', 'echo hi']);
    assert.equal(second!.name, undefined);
    assert.equal(second!.instructions[0]!.keyword, 'COPY');
  });

  it('honours the escape directive', () => {
    const file = parseDockerfile('# escape=`\nFROM busybox\nRUN echo a `\n  b\n');
    assert.equal(file.escape, '`');
    assert.equal(file.stages[0]!.instructions[0]!.rest, 'echo a   b');
  });

  it('falls back to the shell form for bad JSON', () => {
    const file = parseDockerfile('FROM busybox\nCMD [not json]\n');
    assert.equal(file.stages[0]!.instructions[0]!.json, undefined);
  });

  it('refuses what docker refuses, naming the line', () => {
    assert.throws(() => parseDockerfile(''), /cannot be empty/);
    assert.throws(() => parseDockerfile('RUN true'), /line 1: no build stage/);
    assert.throws(() => parseDockerfile('FROM busybox\nFOO bar'), /line 2: unknown instruction: FOO/);
    assert.throws(() => parseDockerfile('FROM busybox\nCOPY onlyone'), /requires at least two arguments/);
    assert.throws(() => parseDockerfile('FROM busybox\nRUN --mount=type=cache,target=/x true'), /unknown flag: --mount \(a BuildKit feature/);
    assert.throws(() => parseDockerfile('FROM busybox\nRUN <<EOF\nx\nEOF'), /heredocs/);
    assert.throws(() => parseDockerfile('FROM a AS x\nFROM b AS X'), /duplicate name x/);
    assert.throws(() => parseDockerfile('FROM a b'), /one or three arguments/);
    assert.throws(() => parseDockerfile('FROM busybox\nSHELL sh -c'), /JSON form/);
  });
});
