import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTop } from './top.ts';

test('ps output becomes Titles and Processes; the last column keeps its spaces', () => {
  const out = 'UID   PID  PPID  CMD\nroot  10   1     sh -c sleep 300 & wait\nroot  11   10    sleep 300\n';
  assert.deepEqual(parseTop(out), {
    Titles: ['UID', 'PID', 'PPID', 'CMD'],
    Processes: [
      ['root', '10', '1', 'sh -c sleep 300 & wait'],
      ['root', '11', '10', 'sleep 300'],
    ],
  });
  assert.deepEqual(parseTop('PID COMMAND\n'), { Titles: ['PID', 'COMMAND'], Processes: [] });
});
