import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpStatus, errorBody } from './http-status.ts';
import { EngineError, SyscallError, conflict, invalidArgument, notFound } from '../util/errors.ts';

describe('httpStatus', () => {
  it('maps each error kind to the status moby gives its class', () => {
    assert.equal(httpStatus(notFound('No such container: x')), 404);
    assert.equal(httpStatus(invalidArgument('invalid JSON: x')), 400);
    assert.equal(httpStatus(conflict('Conflict. x')), 409);
    assert.equal(httpStatus(new EngineError('already-exists', 'x')), 409);
    assert.equal(httpStatus(new EngineError('forbidden', 'x')), 403);
    assert.equal(httpStatus(new EngineError('not-implemented', 'x')), 501);
    assert.equal(httpStatus(new EngineError('unavailable', 'x')), 503);
    assert.equal(httpStatus(new SyscallError('mount', 1, 'proc')), 500);
  });

  it('treats anything unclassified as a server error', () => {
    assert.equal(httpStatus(new TypeError('boom')), 500);
    assert.equal(httpStatus('a string'), 500);
  });

  it("gives Docker's body with the message verbatim", () => {
    assert.deepEqual(errorBody(notFound('No such container: x')), { message: 'No such container: x' });
    assert.deepEqual(errorBody('plain'), { message: 'plain' });
  });
});
