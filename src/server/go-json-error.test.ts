import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goJsonError } from './go-json-error.ts';

describe('goJsonError', () => {
  it("names the offending character in Go's words", () => {
    assert.equal(goJsonError('xx'), "invalid character 'x' looking for beginning of value");
    assert.equal(goJsonError('{bad'), "invalid character 'b' looking for beginning of object key string");
    assert.equal(goJsonError('{"a" 1}'), "invalid character '1' after object key");
    assert.equal(goJsonError('{"a":1 "b":2}'), `invalid character '"' after object key:value pair`);
    assert.equal(goJsonError('[1 2]'), "invalid character '2' after array element");
    assert.equal(goJsonError('{"a":tru}'), "invalid character '}' in literal true (expecting 'e')");
    assert.equal(goJsonError('{"a":-x}'), "invalid character 'x' in numeric literal");
    assert.equal(goJsonError('{"a":"\\q"}'), "invalid character 'q' in string escape code");
  });

  it('reports truncated input as an unexpected EOF', () => {
    assert.equal(goJsonError('{"Image":"busybox"'), 'unexpected EOF');
    assert.equal(goJsonError('{"Image":"bus'), 'unexpected EOF');
  });

  it('finds no error in valid JSON', () => {
    assert.equal(goJsonError('{"Image":"busybox","Cmd":["echo","hi"],"Tty":false,"N":-1.5e3,"X":null}'), undefined);
    assert.equal(goJsonError(' [ ] '), undefined);
  });
});
