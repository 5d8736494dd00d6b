/**
 * The image verbs that read and rename: `images`/`image ls`, `image inspect`, `history`,
 * `tag`, `rmi`, `image prune`. Output follows docker's columns, truncation and wording.
 */

import { parseArgs, requireArgs, type FlagSpecs } from '../args.ts';
import type { ImageSummaryLike } from '../backend.ts';
import { write, type CommandContext } from '../context.ts';
import { ago, alignTable, humanSize, parseTemplate, renderFormatted } from '../format/index.ts';
import { CommandFailed, describeError } from '../errors.ts';

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

/** docker's Ellipsis: cut to `max` characters, the last one an ellipsis. */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

function splitRepoTag(repoTag: string): { repository: string; tag: string } {
  const colon = repoTag.lastIndexOf(':');
  return colon > repoTag.lastIndexOf('/') ? { repository: repoTag.slice(0, colon), tag: repoTag.slice(colon + 1) } : { repository: repoTag, tag: '<none>' };
}

function splitRepoDigest(repoDigest: string): { repository: string; digest: string } {
  const at = repoDigest.indexOf('@');
  return at === -1 ? { repository: repoDigest, digest: '<none>' } : { repository: repoDigest.slice(0, at), digest: repoDigest.slice(at + 1) };
}

function createdAt(seconds: number): string {
  const d = new Date(seconds * 1000).toISOString();
  return `${d.slice(0, 10)} ${d.slice(11, 19)} +0000 UTC`;
}

/** One `docker images` row per repository:tag (or repository@digest, or <none>). */
export interface ImageRow {
  ID: string;
  Repository: string;
  Tag: string;
  Digest: string;
  CreatedSince: string;
  CreatedAt: string;
  Size: string;
  VirtualSize: string;
  SharedSize: string;
  UniqueSize: string;
  Containers: string;
}

export function imageRows(images: readonly ImageSummaryLike[], options: { noTrunc?: boolean; now?: number } = {}): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const image of images) {
    const base = {
      ID: options.noTrunc ? image.Id : shortId(image.Id),
      CreatedSince: ago(image.Created, options.now),
      CreatedAt: createdAt(image.Created),
      Size: humanSize(image.Size),
      VirtualSize: humanSize(image.Size),
      // docker's formatter: four significant digits here, three for Size
      SharedSize: image.SharedSize < 0 ? 'N/A' : humanSize(image.SharedSize, 4),
      UniqueSize: image.SharedSize < 0 ? 'N/A' : humanSize(image.Size - image.SharedSize, 4),
      Containers: image.Containers < 0 ? 'N/A' : String(image.Containers),
    };
    const digests = image.RepoDigests.map(splitRepoDigest);
    const tagged = new Set<string>();
    for (const repoTag of image.RepoTags) {
      const { repository, tag } = splitRepoTag(repoTag);
      tagged.add(repository);
      const digest = digests.find((d) => d.repository === repository)?.digest ?? '<none>';
      rows.push({ ...base, Repository: repository, Tag: tag, Digest: digest });
    }
    for (const { repository, digest } of digests) {
      if (!tagged.has(repository)) rows.push({ ...base, Repository: repository, Tag: '<none>', Digest: digest });
    }
    if (rows.length === 0 || (image.RepoTags.length === 0 && digests.length === 0)) {
      rows.push({ ...base, Repository: '<none>', Tag: '<none>', Digest: '<none>' });
    }
  }
  return rows;
}

const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Size: 'SIZE',
  VirtualSize: 'SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
  Containers: 'CONTAINERS',
};

const LIST_FLAGS: FlagSpecs = {
  all: { type: 'bool', short: 'a' },
  quiet: { type: 'bool', short: 'q' },
  digests: { type: 'bool' },
  'no-trunc': { type: 'bool' },
  filter: { type: 'list', short: 'f' },
  format: { type: 'string' },
  tree: { type: 'bool' },
};

export async function imagesCommand(ctx: CommandContext, argv: string[], command = 'images'): Promise<number> {
  const { flags, args } = parseArgs(argv, LIST_FLAGS);
  requireArgs(args, command, '[OPTIONS] [REPOSITORY[:TAG]]', 0, 1);
  const filters = [...(flags['filter'] as string[])];
  if (args[0] !== undefined) filters.push(`reference=${args[0]}`);
  const images = await ctx.images.list({ filters });
  const rows = imageRows(images, { noTrunc: flags['no-trunc'] === true });
  let out: string;
  if (flags['quiet']) {
    const seen = new Set<string>();
    out = rows.filter((r) => !seen.has(r.ID) && seen.add(r.ID)).map((r) => `${r.ID}\n`).join('');
  } else if (typeof flags['format'] === 'string' && flags['format'] !== '' && flags['format'] !== 'table') {
    out = renderFormatted(flags['format'] === 'json' ? '{{json .}}' : flags['format'], rows, IMAGE_HEADERS);
  } else {
    const digests = flags['digests'] === true;
    const header = ['REPOSITORY', 'TAG', ...(digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
    out = alignTable([header, ...rows.map((r) => [r.Repository, r.Tag, ...(digests ? [r.Digest] : []), r.ID, r.CreatedSince, r.Size])]);
  }
  await write(ctx.io.stdout, out);
  return 0;
}

const INSPECT_FLAGS: FlagSpecs = { format: { type: 'string', short: 'f' }, type: { type: 'string' }, size: { type: 'bool', short: 's' } };

export async function inspectCommand(ctx: CommandContext, argv: string[], command = 'image inspect'): Promise<number> {
  const { flags, args } = parseArgs(argv, INSPECT_FLAGS);
  requireArgs(args, command, '[OPTIONS] IMAGE [IMAGE...]', 1, Infinity);
  if (flags['type'] !== undefined && flags['type'] !== 'image') throw new CommandFailed(`"${flags['type']}" is not a valid value for --type`);
  const found: unknown[] = [];
  const errors: string[] = [];
  for (const ref of args) {
    try {
      found.push(await ctx.images.inspect(ref));
    } catch (err) {
      errors.push(describeError(err));
    }
  }
  const format = flags['format'];
  if (typeof format === 'string' && format !== '' && format !== 'json') {
    const template = parseTemplate(format);
    await write(ctx.io.stdout, found.map((item) => `${template.render(item)}\n`).join(''));
  } else {
    await write(ctx.io.stdout, `${JSON.stringify(found, null, 4)}\n`);
  }
  if (errors.length > 0) {
    await write(ctx.io.stderr, errors.map((e) => `\n${e}`).join('').replace(/^\n/, '') + '\n');
    return 1;
  }
  return 0;
}

const HISTORY_FLAGS: FlagSpecs = {
  human: { type: 'bool', short: 'H' },
  'no-trunc': { type: 'bool' },
  quiet: { type: 'bool', short: 'q' },
  format: { type: 'string' },
  platform: { type: 'string' },
};

const HISTORY_HEADERS: Record<string, string> = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };

export async function historyCommand(ctx: CommandContext, argv: string[], command = 'history'): Promise<number> {
  const { flags, args } = parseArgs(argv, { ...HISTORY_FLAGS });
  requireArgs(args, command, '[OPTIONS] IMAGE', 1);
  const items = await ctx.images.history(args[0]!);
  const noTrunc = flags['no-trunc'] === true;
  const human = flags['human'] !== false;
  const rows = items.map((h) => ({
    ID: h.Id === '<missing>' || noTrunc ? h.Id : shortId(h.Id),
    CreatedSince: human ? ago(h.Created) : createdAt(h.Created),
    CreatedAt: createdAt(h.Created),
    CreatedBy: noTrunc ? h.CreatedBy.replace(/\t/g, ' ') : ellipsis(h.CreatedBy.replace(/\t/g, ' '), 45),
    Size: human ? humanSize(h.Size) : String(h.Size),
    Comment: h.Comment,
  }));
  let out: string;
  if (flags['quiet']) out = rows.map((r) => `${r.ID}\n`).join('');
  else if (typeof flags['format'] === 'string' && flags['format'] !== '' && flags['format'] !== 'table') out = renderFormatted(flags['format'], rows, HISTORY_HEADERS);
  else out = alignTable([['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'], ...rows.map((r) => [r.ID, r.CreatedSince, r.CreatedBy, r.Size, r.Comment])]);
  await write(ctx.io.stdout, out);
  return 0;
}

export async function tagCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { args } = parseArgs(argv, {});
  requireArgs(args, 'tag', 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', 2);
  await ctx.images.tag(args[0]!, args[1]!);
  return 0;
}

export async function rmiCommand(ctx: CommandContext, argv: string[], command = 'rmi'): Promise<number> {
  const { flags, args } = parseArgs(argv, { force: { type: 'bool', short: 'f' }, 'no-prune': { type: 'bool' }, platform: { type: 'list' } });
  requireArgs(args, command, '[OPTIONS] IMAGE [IMAGE...]', 1, Infinity);
  let failed = false;
  for (const ref of args) {
    try {
      const items = await ctx.images.remove(ref, { force: flags['force'] === true });
      await write(ctx.io.stdout, items.map((i) => (i.Untagged !== undefined ? `Untagged: ${i.Untagged}\n` : `Deleted: ${i.Deleted}\n`)).join(''));
    } catch (err) {
      failed = true;
      await write(ctx.io.stderr, `${describeError(err)}\n`);
    }
  }
  return failed ? 1 : 0;
}

export async function pruneCommand(ctx: CommandContext, argv: string[]): Promise<number> {
  const { flags, args } = parseArgs(argv, { all: { type: 'bool', short: 'a' }, force: { type: 'bool', short: 'f' }, filter: { type: 'list' } });
  requireArgs(args, 'image prune', '[OPTIONS]', 0);
  if ((flags['filter'] as string[]).length > 0) throw new CommandFailed('image prune: filters are not supported yet');
  const all = flags['all'] === true;
  if (!flags['force']) {
    const warning = all
      ? 'WARNING! This will remove all images without at least one container associated to them.'
      : 'WARNING! This will remove all dangling images.';
    await write(ctx.io.stdout, `${warning}\nAre you sure you want to continue? [y/N] `);
    const answer = await readLine(ctx);
    if (!/^y(es)?$/i.test(answer.trim())) {
      await write(ctx.io.stdout, '\n');
      return 0;
    }
  }
  const report = await ctx.images.prune({ all });
  let out = '';
  if (report.ImagesDeleted.length > 0) {
    out += 'Deleted Images:\n';
    for (const item of report.ImagesDeleted) out += item.Untagged !== undefined ? `untagged: ${item.Untagged}\n` : `deleted: ${item.Deleted}\n`;
    out += '\n';
  }
  out += `Total reclaimed space: ${humanSize(report.SpaceReclaimed, 4)}\n`;
  await write(ctx.io.stdout, out);
  return 0;
}

async function readLine(ctx: CommandContext): Promise<string> {
  let text = '';
  for await (const chunk of ctx.io.stdin) {
    text += String(chunk);
    if (text.includes('\n')) break;
  }
  return text.split('\n')[0] ?? '';
}
