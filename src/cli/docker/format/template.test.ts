import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { goString, parseTemplate } from './template.ts';
import { renderFormatted } from './render.ts';
import { alignTable } from './table.ts';
import { ago, humanSize } from './units.ts';

const image = {
  Id: 'sha256:abc',
  RepoTags: ['busybox:latest', 'busybox:1'],
  Config: { Cmd: ['sh', '-c', 'echo hi'], Env: [], Labels: { 'org.a': 'x' }, ExposedPorts: { '80/tcp': {} } },
  Size: 42,
};

describe('template', () => {
  it('renders fields, nested fields and literal text', () => {
    assert.equal(parseTemplate('{{.Id}} size={{.Size}}').render(image), 'sha256:abc size=42');
    assert.equal(parseTemplate('{{.Config.Cmd}}').render(image), '[sh -c echo hi]');
  });

  it('prints values the way Go does', () => {
    assert.equal(goString(['a', 'b']), '[a b]');
    assert.equal(goString({ b: '2', a: '1' }), 'map[a:1 b:2]');
    assert.equal(goString(null), '<nil>');
    assert.equal(parseTemplate('{{.Config.Labels}}').render(image), 'map[org.a:x]');
  });

  it('supports json, join, index, upper and pipelines', () => {
    assert.equal(parseTemplate('{{json .RepoTags}}').render(image), '["busybox:latest","busybox:1"]');
    assert.equal(JSON.parse(parseTemplate('{{json .}}').render(image)).Size, 42);
    assert.equal(parseTemplate('{{join .RepoTags ","}}').render(image), 'busybox:latest,busybox:1');
    assert.equal(parseTemplate('{{index .Config.Labels "org.a"}}').render(image), 'x');
    assert.equal(parseTemplate('{{.Id | upper}}').render(image), 'SHA256:ABC');
    assert.equal(parseTemplate('{{len .RepoTags}}').render(image), '2');
  });

  it('turns \\t and \\n into tabs and newlines and recognises table', () => {
    const t = parseTemplate('table {{.Id}}\\t{{.Size}}');
    assert.equal(t.table, true);
    assert.deepEqual(t.fields, ['Id', 'Size']);
    assert.equal(t.render(image), 'sha256:abc\t42');
  });

  it('reports unknown fields and functions like Go', () => {
    assert.throws(() => parseTemplate('{{.Nope}}').render(image), /can't evaluate field Nope/);
    assert.throws(() => parseTemplate('{{frobnicate .Id}}'), /function "frobnicate" not defined/);
    assert.throws(() => parseTemplate('{{.Id'), /unclosed action/);
    assert.equal(parseTemplate('{{index .Config.Labels "missing"}}').render(image), '<no value>');
  });
});

describe('renderFormatted', () => {
  it('prints one line per item, or an aligned table with docker headers', () => {
    const rows = [{ Repository: 'busybox', Tag: 'latest' }, { Repository: '127.0.0.1:5000/nginx', Tag: '1' }];
    assert.equal(renderFormatted('{{.Repository}}:{{.Tag}}', rows, {}), 'busybox:latest\n127.0.0.1:5000/nginx:1\n');
    assert.equal(
      renderFormatted('table {{.Repository}}\t{{.Tag}}', rows, { Repository: 'REPOSITORY', Tag: 'TAG' }),
      'REPOSITORY             TAG\nbusybox                latest\n127.0.0.1:5000/nginx   1\n',
    );
  });
});

describe('alignTable', () => {
  it('pads to the widest cell plus three, at least ten', () => {
    assert.equal(alignTable([['A', 'B'], ['xx', 'y']]), 'A         B\nxx        y\n');
  });
});

describe('units', () => {
  it('formats sizes like go-units with three significant digits', () => {
    assert.equal(humanSize(0), '0B');
    assert.equal(humanSize(999), '999B');
    assert.equal(humanSize(1234), '1.23kB');
    assert.equal(humanSize(4_260_000), '4.26MB');
    assert.equal(humanSize(187_000_000), '187MB');
    assert.equal(humanSize(100_462_592), '100MB');
  });

  it('formats ages like go-units', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const s = now / 1000;
    assert.equal(ago(s - 30, now), '30 seconds ago');
    assert.equal(ago(s - 90, now), 'About a minute ago');
    assert.equal(ago(s - 3600, now), 'About an hour ago');
    assert.equal(ago(s - 5 * 3600, now), '5 hours ago');
    assert.equal(ago(s - 3 * 86400, now), '3 days ago');
    assert.equal(ago(s - 21 * 86400, now), '3 weeks ago');
    assert.equal(ago(s - 200 * 86400, now), '6 months ago');
    assert.equal(ago(s - 800 * 86400, now), '2 years ago');
  });
});
