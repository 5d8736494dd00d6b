import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CLASS_IN, encodeQuery, encodeResponse, parseQuery, parseResponse, RCODE_NXDOMAIN, TYPE_A, TYPE_AAAA } from './message.ts';

describe('dns message', () => {
  it('parses a query with its id, RD flag and question, lower-casing the name', () => {
    const q = parseQuery(encodeQuery(0x1234, 'Web.Example', TYPE_A));
    assert.equal(q.id, 0x1234);
    assert.equal(q.recursionDesired, true);
    assert.equal(q.isResponse, false);
    assert.deepEqual(q.questions, [{ name: 'web.example', type: TYPE_A, class: CLASS_IN }]);
  });

  it('tolerates an EDNS OPT record in the additional section', () => {
    const q = parseQuery(encodeQuery(7, 'alpha', TYPE_AAAA, true));
    assert.deepEqual(q.questions, [{ name: 'alpha', type: TYPE_AAAA, class: CLASS_IN }]);
  });

  it('answers A records that a parser reads back, with the id and question echoed', () => {
    const q = parseQuery(encodeQuery(42, 'alpha', TYPE_A, true));
    const reply = encodeResponse(q, { addresses: ['10.88.0.2', '10.88.0.3'] });
    assert.deepEqual(parseResponse(reply), { id: 42, rcode: 0, addresses: ['10.88.0.2', '10.88.0.3'] });
    // QR set, RD echoed, RA set
    assert.equal(reply.readUInt16BE(2) & 0x8180, 0x8180);
  });

  it('answers NXDOMAIN without records', () => {
    const reply = encodeResponse(parseQuery(encodeQuery(9, 'nobody', TYPE_A)), { rcode: RCODE_NXDOMAIN, addresses: ['1.2.3.4'] });
    assert.deepEqual(parseResponse(reply), { id: 9, rcode: RCODE_NXDOMAIN, addresses: [] });
  });

  it('follows compression pointers and refuses loops and truncation', () => {
    // header (1 question) + name "a" at 12, then a question whose name is a pointer to 12
    const header = Buffer.from([0, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0]);
    const first = Buffer.from([1, 0x61, 0, 0, 1, 0, 1]);
    const second = Buffer.from([0xc0, 12, 0, 1, 0, 1]);
    const q = parseQuery(Buffer.concat([header, first, second]));
    assert.deepEqual(q.questions.map((x) => x.name), ['a', 'a']);
    const loop = Buffer.concat([Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
    assert.throws(() => parseQuery(loop), /compression loop/);
    assert.throws(() => parseQuery(Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, 0x61])), /runs past the end/);
    assert.throws(() => parseQuery(Buffer.from([0, 1])), /shorter than a header/);
  });
});
