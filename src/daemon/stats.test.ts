import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetDev } from './stats.ts';

test('/proc/PID/net/dev: every interface but loopback, with the counters docker stats reads', () => {
  const text = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:     120       2    0    0    0     0          0         0      120       2    0    0    0     0       0          0',
    '  eth0:    5046      41    1    2    0     0          0         0     1308      14    3    4    0     0       0          0',
    '',
  ].join('\n');
  assert.deepEqual(parseNetDev(text), {
    eth0: { rx_bytes: 5046, rx_packets: 41, rx_errors: 1, rx_dropped: 2, tx_bytes: 1308, tx_packets: 14, tx_errors: 3, tx_dropped: 4 },
  });
  assert.deepEqual(parseNetDev(text.split('\n').slice(0, 3).join('\n')), {});
});
