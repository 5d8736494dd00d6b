/**
 * The `berth` CLI's dispatcher: global options (`--data-root`, `--insecure-registry`), then
 * docker's verbs, both the short forms (`images`, `rmi`) and the management ones (`image ls`).
 * The backend is built by a factory the entry point supplies, so this module never imports
 * the engine and switches to the Engine API client without change.
 */

import { parseArgs, UsageError, type FlagSpecs } from './args.ts';
import type { ImageBackend } from './backend.ts';
import { write, type CommandContext, type Io } from './context.ts';
import { describeError, exitCodeOf } from './errors.ts';
import { historyCommand, imagesCommand, inspectCommand, pruneCommand, rmiCommand, tagCommand } from './commands/images.ts';
import { pullCommand, pushCommand } from './commands/transfer.ts';
import { importCommand, loadCommand, saveCommand } from './commands/archive.ts';
import { loginCommand, logoutCommand } from './commands/login.ts';
import { systemDfCommand } from './commands/system.ts';

export interface GlobalOptions {
  dataRoot: string;
  insecureRegistries: string[];
}

export type BackendFactory = (options: GlobalOptions) => Promise<ImageBackend>;

const GLOBAL_FLAGS: FlagSpecs = {
  'data-root': { type: 'string' },
  'insecure-registry': { type: 'list' },
  debug: { type: 'bool', short: 'D' },
  help: { type: 'bool', short: 'h' },
  version: { type: 'bool', short: 'v' },
  'log-level': { type: 'string', short: 'l' },
};

type Handler = (ctx: CommandContext, argv: string[]) => Promise<number>;

const IMAGE_SUBCOMMANDS: Record<string, Handler> = {
  ls: (c, a) => imagesCommand(c, a, 'image ls'),
  list: (c, a) => imagesCommand(c, a, 'image ls'),
  inspect: (c, a) => inspectCommand(c, a, 'image inspect'),
  history: (c, a) => historyCommand(c, a, 'image history'),
  tag: tagCommand,
  rm: (c, a) => rmiCommand(c, a, 'image rm'),
  remove: (c, a) => rmiCommand(c, a, 'image rm'),
  prune: pruneCommand,
  pull: (c, a) => pullCommand(c, a, 'image pull'),
  push: (c, a) => pushCommand(c, a, 'image push'),
  save: (c, a) => saveCommand(c, a, 'image save'),
  load: (c, a) => loadCommand(c, a, 'image load'),
  import: (c, a) => importCommand(c, a, 'image import'),
};

const COMMANDS: Record<string, Handler> = {
  pull: pullCommand,
  push: pushCommand,
  images: imagesCommand,
  inspect: (c, a) => inspectCommand(c, a, 'inspect'),
  history: historyCommand,
  tag: tagCommand,
  rmi: rmiCommand,
  save: saveCommand,
  load: loadCommand,
  import: importCommand,
  login: loginCommand,
  logout: logoutCommand,
  image: (c, a) => subcommand(c, a, 'image', IMAGE_SUBCOMMANDS),
  system: (c, a) => subcommand(c, a, 'system', { df: systemDfCommand }),
};

async function subcommand(ctx: CommandContext, argv: string[], group: string, table: Record<string, Handler>): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '--help' || verb === '-h') {
    await write(ctx.io.stdout, `Usage:  berth ${group} COMMAND\n\nCommands:\n${Object.keys(table).map((k) => `  ${k}\n`).join('')}`);
    return 0;
  }
  const handler = table[verb];
  if (!handler) throw new UsageError(`unknown command: berth ${group} ${verb}\n\nRun 'berth ${group} --help' for more information`);
  return handler(ctx, rest);
}

const USAGE = `Usage:  berth [OPTIONS] COMMAND

A container engine

Global options:
      --data-root string          Root of persistent state (default "/var/lib/berth", or $BERTH_DATA_ROOT)
      --insecure-registry list    Registries reached over plain HTTP (localhost is always)

Image commands:
  pull      Download an image from a registry
  push      Upload an image to a registry
  images    List images
  inspect   Return low-level information on images
  history   Show the history of an image
  tag       Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  rmi       Remove one or more images
  save      Save one or more images to a tar archive (streamed to STDOUT by default)
  load      Load an image from a tar archive or STDIN
  import    Import the contents from a tarball to create a filesystem image
  login     Authenticate to a registry
  logout    Log out from a registry

Management commands:
  image     Manage images
  system    Manage Berth (df)
`;

export async function main(argv: string[], io: Io, factory: BackendFactory, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let commandPath = '';
  try {
    const { flags, args } = parseArgs(argv, GLOBAL_FLAGS, { stopAtFirstArg: true });
    const [verb, ...rest] = args;
    if (flags['version']) {
      await write(io.stdout, 'Berth version 0.1.0\n');
      return 0;
    }
    if (verb === undefined || flags['help'] || verb === 'help') {
      await write(io.stdout, USAGE);
      return 0;
    }
    const handler = COMMANDS[verb];
    if (!handler) throw new UsageError(`unknown command: berth ${verb}\n\nRun 'berth --help' for more information`);
    commandPath = ['image', 'system'].includes(verb) && rest[0] !== undefined && !rest[0].startsWith('-') ? `${verb} ${rest[0]}` : verb;
    if (rest.includes('--help') || rest.includes('-h')) {
      await write(io.stdout, `Usage:  berth ${verb} [OPTIONS]\n\nSee 'berth --help'.\n`);
      return 0;
    }
    const dataRoot = (flags['data-root'] as string | undefined) ?? env['BERTH_DATA_ROOT'] ?? '/var/lib/berth';
    const images = await factory({ dataRoot, insecureRegistries: flags['insecure-registry'] as string[] });
    return await handler({ images, io }, rest);
  } catch (err) {
    const code = exitCodeOf(err);
    if (err instanceof UsageError) await write(io.stderr, `${err.message}${err.message.includes('--help') ? '' : `\nSee 'berth ${commandPath ? `${commandPath} ` : ''}--help'.`}\n`);
    else await write(io.stderr, `${describeError(err)}\n`);
    return code;
  }
}
