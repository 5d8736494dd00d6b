import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expand, expandWords, keyValues } from './expand.ts';

const vars: Record<string, string> = { A: 'alpha', EMPTY: '', SP: 'x y' };
const lookup = (name: string): string | undefined => vars[name];

describe('expand', () => {
  it('expands the forms docker knows', () => {
    assert.equal(expand('$A-${A}', lookup), 'alpha-alpha');
    assert.equal(expand('${MISSING:-def}/${EMPTY:-e}/${EMPTY-e}', lookup), 'def/e/');
    assert.equal(expand('${A:+set}/${MISSING:+set}', lookup), 'set/');
    assert.equal(expand('${MISSING:-${A}}', lookup), 'alpha');
  });

  it('keeps single-quoted and escaped text literal, and removes quotes', () => {
    assert.equal(expand("'$A' \"$A\" \\$A", lookup), '$A alpha $A');
    assert.equal(expand('"a b"', lookup), 'a b');
    assert.equal(expand('cost: $', lookup), 'cost: $');
  });

  it('splits words on unquoted space only', () => {
    assert.deepEqual(expandWords('a "b c" $A \'d e\'', lookup), ['a', 'b c', 'alpha', 'd e']);
    assert.deepEqual(expandWords('"" x', lookup), ['', 'x']);
  });

  it('reports unterminated quotes and braces', () => {
    assert.throws(() => expand('"open', lookup), /matching double-quote/);
    assert.throws(() => expand('${A', lookup), /missing '}'/);
    assert.throws(() => expand('${A?x}', lookup), /unsupported modifier/);
  });
});

describe('keyValues', () => {
  it('reads key=value pairs with quotes and variables', () => {
    assert.deepEqual(keyValues('ENV', 'X=1 Y="two words" Z=$A', lookup), [['X', '1'], ['Y', 'two words'], ['Z', 'alpha']]);
  });
  it('reads the legacy form', () => {
    assert.deepEqual(keyValues('ENV', 'PATH /a b $A', lookup), [['PATH', '/a b alpha']]);
  });
  it('reads ARG with and without a default', () => {
    assert.deepEqual(keyValues('ARG', 'V', lookup), [['V', undefined]]);
    assert.deepEqual(keyValues('ARG', 'V=1', lookup), [['V', '1']]);
  });
  it('refuses blank names', () => {
    assert.throws(() => keyValues('LABEL', '=x', lookup), /names can not be blank/);
  });
});
