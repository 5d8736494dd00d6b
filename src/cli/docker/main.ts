/**
 * The `berth` CLI's dispatcher: global options (`--data-root`, `--insecure-registry`), then
 * docker's verbs, both the short forms (`images`, `rmi`) and the management ones (`image ls`).
 * The backend is built by a factory the entry point supplies, so this module never imports
 * the engine. Container verbs talk to berthd through the Engine API client; their modules are
 * imported only when used, so `berth ps` loads neither the image store nor the run plumbing.
 */

import { existsSync } from 'node:fs';
import { parseArgs, UsageError, type FlagSpecs } from './args.ts';
import type { ImageBackend } from './backend.ts';
import { write, type CommandContext, type Io } from './context.ts';
import { runGroupVerb } from './group.ts';
import { describeError, exitCodeOf } from './errors.ts';
import type { ApiContext } from './commands/run.ts';

// Image verbs' modules, imported when one runs (the bundle is split per module, scripts/build.mjs).
const images = (): Promise<typeof import('./commands/images.ts')> => import('./commands/images.ts');
const transfer = (): Promise<typeof import('./commands/transfer.ts')> => import('./commands/transfer.ts');
const archive = (): Promise<typeof import('./commands/archive.ts')> => import('./commands/archive.ts');
const login = (): Promise<typeof import('./commands/login.ts')> => import('./commands/login.ts');
const system = (): Promise<typeof import('./commands/system.ts')> => import('./commands/system.ts');

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
  host: { type: 'string', short: 'H' },
};

type ApiHandler = (ctx: ApiContext, argv: string[]) => Promise<number>;

const CLIENT_VERSION = '0.1.0';

/** Verbs served by berthd, each module loaded on first use. */
const API_COMMANDS: Record<string, () => Promise<ApiHandler>> = {
  run: async () => (await import('./commands/run.ts')).runCommand,
  create: async () => (await import('./commands/run.ts')).createCommand,
  exec: async () => (await import('./commands/run.ts')).execCommand,
  start: async () => (await import('./commands/run.ts')).startCommand,
  ps: async () => (await import('./commands/containers.ts')).psCommand,
  logs: async () => (await import('./commands/containers.ts')).logsCommand,
  stop: async () => (await import('./commands/containers.ts')).stopCommand,
  restart: async () => {
    const { stopCommand } = await import('./commands/containers.ts');
    return (c, a) => stopCommand(c, a, 'restart');
  },
  kill: async () => (await import('./commands/containers.ts')).killCommand,
  rm: async () => (await import('./commands/containers.ts')).rmCommand,
  pause: async () => {
    const { pauseCommand } = await import('./commands/containers.ts');
    return (c, a) => pauseCommand(c, a, 'pause');
  },
  unpause: async () => {
    const { pauseCommand } = await import('./commands/containers.ts');
    return (c, a) => pauseCommand(c, a, 'unpause');
  },
  wait: async () => (await import('./commands/containers.ts')).waitCommand,
  top: async () => (await import('./commands/containers.ts')).topCommand,
  info: async () => (await import('./commands/containers.ts')).infoCommand,
  version: async () => {
    const { versionCommand } = await import('./commands/containers.ts');
    return (c, a) => versionCommand(c, a, CLIENT_VERSION);
  },
  inspect: async () => (await import('./commands/containers.ts')).inspectApiCommand,
  cp: async () => (await import('./commands/cp.ts')).cpCommand,
  update: async () => (await import('./commands/update.ts')).updateCommand,
  build: async () => (await import('./commands/build.ts')).buildCommand,
  attach: async () => (await import('./commands/run.ts')).attachCommand,
  rename: async () => (await import('./commands/manage.ts')).renameCommand,
  port: async () => (await import('./commands/manage.ts')).portCommand,
  diff: async () => (await import('./commands/manage.ts')).diffCommand,
  export: async () => (await import('./commands/manage.ts')).exportCommand,
  commit: async () => (await import('./commands/manage.ts')).commitCommand,
  stats: async () => (await import('./commands/manage.ts')).statsCommand,
  events: async () => (await import('./commands/manage.ts')).eventsCommand,
  'container prune': async () => (await import('./commands/manage.ts')).containerPruneCommand,
  'system prune': async () => (await import('./commands/manage.ts')).systemPruneCommand,
  volume: async () => (await import('./commands/resources.ts')).groupCommand('volume'),
  network: async () => (await import('./commands/resources.ts')).groupCommand('network'),
  'container inspect': async () => {
    const { inspectApiCommand } = await import('./commands/containers.ts');
    return (c, a) => inspectApiCommand(c, a, 'container inspect', 'container');
  },
};

const CONTAINER_SUBCOMMANDS: Record<string, string> = {
  ls: 'ps', list: 'ps', ps: 'ps', run: 'run', create: 'create', exec: 'exec', start: 'start', stop: 'stop', restart: 'restart', kill: 'kill',
  rm: 'rm', remove: 'rm', cp: 'cp', logs: 'logs', wait: 'wait', pause: 'pause', unpause: 'unpause', top: 'top', inspect: 'container inspect', update: 'update',
  attach: 'attach', rename: 'rename', port: 'port', diff: 'diff', export: 'export', commit: 'commit', stats: 'stats', prune: 'container prune',
};

/** `berth system …` verbs served by the daemon (`df` works on the local store too). */
const SYSTEM_SUBCOMMANDS: Record<string, string> = { prune: 'system prune', events: 'events', info: 'info' };

/** A daemon is meant to answer: named on the command line or in the environment, or (no --data-root) its default socket exists. */
function daemonNamed(host: string | undefined, env: NodeJS.ProcessEnv, dataRootGiven: boolean): boolean {
  return host !== undefined || Boolean(env['BERTH_HOST']) || (!dataRootGiven && existsSync('/run/berth/berth.sock'));
}

async function runApi(verb: string, rest: string[], io: Io, host: string | undefined, env: NodeJS.ProcessEnv): Promise<number> {
  const handler = await API_COMMANDS[verb]!();
  const { ApiError, withEngine } = await import('../../client/index.ts');
  try {
    return await withEngine(host, env, (client) => handler({ client, io }, rest));
  } catch (err) {
    if (err instanceof UsageError) throw err;
    await write(io.stderr, `${err instanceof ApiError ? `Error response from daemon: ${err.message}` : describeError(err)}\n`);
    return 1;
  }
}

type Handler = (ctx: CommandContext, argv: string[]) => Promise<number>;

const IMAGE_SUBCOMMANDS: Record<string, Handler> = {
  ls: async (c, a) => (await images()).imagesCommand(c, a, 'image ls'),
  list: async (c, a) => (await images()).imagesCommand(c, a, 'image ls'),
  inspect: async (c, a) => (await images()).inspectCommand(c, a, 'image inspect'),
  history: async (c, a) => (await images()).historyCommand(c, a, 'image history'),
  tag: async (c, a) => (await images()).tagCommand(c, a),
  rm: async (c, a) => (await images()).rmiCommand(c, a, 'image rm'),
  remove: async (c, a) => (await images()).rmiCommand(c, a, 'image rm'),
  prune: async (c, a) => (await images()).pruneCommand(c, a),
  pull: async (c, a) => (await transfer()).pullCommand(c, a, 'image pull'),
  push: async (c, a) => (await transfer()).pushCommand(c, a, 'image push'),
  save: async (c, a) => (await archive()).saveCommand(c, a, 'image save'),
  load: async (c, a) => (await archive()).loadCommand(c, a, 'image load'),
  import: async (c, a) => (await archive()).importCommand(c, a, 'image import'),
};

const COMMANDS: Record<string, Handler> = {
  pull: async (c, a) => (await transfer()).pullCommand(c, a),
  push: async (c, a) => (await transfer()).pushCommand(c, a),
  images: async (c, a) => (await images()).imagesCommand(c, a),
  inspect: async (c, a) => (await images()).inspectCommand(c, a, 'inspect'),
  history: async (c, a) => (await images()).historyCommand(c, a),
  tag: async (c, a) => (await images()).tagCommand(c, a),
  rmi: async (c, a) => (await images()).rmiCommand(c, a),
  save: async (c, a) => (await archive()).saveCommand(c, a),
  load: async (c, a) => (await archive()).loadCommand(c, a),
  import: async (c, a) => (await archive()).importCommand(c, a),
  login: async (c, a) => (await login()).loginCommand(c, a),
  logout: async (c, a) => (await login()).logoutCommand(c, a),
  image: (c, a) => runGroupVerb(c, a, 'image', IMAGE_SUBCOMMANDS),
  system: (c, a) => runGroupVerb(c, a, 'system', { df: async (c2, a2) => (await system()).systemDfCommand(c2, a2) }),
};


const USAGE = `Usage:  berth [OPTIONS] COMMAND

A container engine

Global options:
  -H, --host unix://PATH          Daemon socket (default unix:///run/berth/berth.sock, or $BERTH_HOST)
      --data-root string          Root of persistent state (default "/var/lib/berth", or $BERTH_DATA_ROOT)
      --insecure-registry list    Registries reached over plain HTTP (localhost is always)

Container commands:
  run       Create and run a new container from an image
  create    Create a new container
  exec      Execute a command in a running container
  ps        List containers
  logs      Fetch the logs of a container
  start     Start one or more stopped containers
  stop      Stop one or more running containers
  restart   Restart one or more containers
  kill      Kill one or more running containers
  rm        Remove one or more containers
  pause     Pause all processes within one or more containers
  unpause   Unpause all processes within one or more containers
  wait      Block until one or more containers stop, then print their exit codes
  top       Display the running processes of a container
  update    Update configuration of one or more containers
  cp        Copy files/folders between a container and the local filesystem
  attach    Attach local standard input, output, and error streams to a running container
  rename    Rename a container
  port      List port mappings or a specific mapping for the container
  diff      Inspect changes to files or directories on a container's filesystem
  export    Export a container's filesystem as a tar archive
  commit    Create a new image from a container's changes
  stats     Display a live stream of container(s) resource usage statistics
  events    Get real time events from the server
  inspect   Return low-level information on containers or images
  version   Show the Berth version information
  info      Display system-wide information

Image commands:
  build     Build an image from a Dockerfile
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
  container Manage containers
  image     Manage images
  network   Manage networks (ls, create, rm, inspect, prune)
  volume    Manage volumes (ls, create, rm, inspect, prune)
  system    Manage Berth (df)
`;

export async function main(argv: string[], io: Io, factory: BackendFactory, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let commandPath = '';
  try {
    const { flags, args } = parseArgs(argv, GLOBAL_FLAGS, { stopAtFirstArg: true });
    const [verb, ...rest] = args;
    if (flags['version']) {
      await write(io.stdout, `Berth version ${CLIENT_VERSION}\n`);
      return 0;
    }
    if (verb === undefined || flags['help'] || verb === 'help') {
      await write(io.stdout, USAGE);
      return 0;
    }
    const host = flags['host'] as string | undefined;
    const grouped = verb === 'container' ? CONTAINER_SUBCOMMANDS : verb === 'system' ? SYSTEM_SUBCOMMANDS : undefined;
    const apiVerb = grouped !== undefined ? grouped[rest[0] ?? ''] : verb === 'inspect' && !daemonNamed(host, env, flags['data-root'] !== undefined) ? undefined : verb;
    if (apiVerb !== undefined && API_COMMANDS[apiVerb]) {
      commandPath = grouped !== undefined ? `${verb} ${rest[0]}` : verb;
      // run and exec pass the container's own flags through: only a leading --help is berth's
      const wantsHelp = ['run', 'exec', 'create'].includes(apiVerb) ? rest[0] === '--help' || rest[0] === '-h' : rest.includes('--help') && !['volume', 'network'].includes(verb);
      if (wantsHelp) {
        await write(io.stdout, `Usage:  berth ${commandPath} [OPTIONS]\n\nSee 'berth --help'.\n`);
        return 0;
      }
      return await runApi(apiVerb, grouped !== undefined ? rest.slice(1) : rest, io, host, env);
    }
    if (verb === 'container') {
      if (rest[0] === undefined || rest[0] === '--help' || rest[0] === '-h') {
        await write(io.stdout, `Usage:  berth container COMMAND\n\nCommands:\n${Object.keys(CONTAINER_SUBCOMMANDS).map((k) => `  ${k}\n`).join('')}`);
        return 0;
      }
      throw new UsageError(`unknown command: berth container ${rest[0]}\n\nRun 'berth container --help' for more information`);
    }
    const handler = COMMANDS[verb];
    if (!handler) throw new UsageError(`unknown command: berth ${verb}\n\nRun 'berth --help' for more information`);
    commandPath = ['image', 'system'].includes(verb) && rest[0] !== undefined && !rest[0].startsWith('-') ? `${verb} ${rest[0]}` : verb;
    if (rest.includes('--help') || rest.includes('-h')) {
      await write(io.stdout, `Usage:  berth ${verb} [OPTIONS]\n\nSee 'berth --help'.\n`);
      return 0;
    }
    const dataRoot = (flags['data-root'] as string | undefined) ?? env['BERTH_DATA_ROOT'] ?? '/var/lib/berth';
    const options = { dataRoot, insecureRegistries: flags['insecure-registry'] as string[] };
    // a daemon named with -H or $BERTH_HOST owns the images; otherwise the store on the data root, in-process
    if (host !== undefined || env['BERTH_HOST']) {
      const [{ connectEngine }, { ApiImageBackend }] = await Promise.all([import('../../client/index.ts'), import('./commands/api-images.ts')]);
      const images = new ApiImageBackend(await connectEngine(host, env), () => factory(options));
      return await handler({ images, io }, rest);
    }
    const images = await factory(options);
    return await handler({ images, io }, rest);
  } catch (err) {
    const code = exitCodeOf(err);
    if (err instanceof UsageError) await write(io.stderr, `${err.message}${err.message.includes('--help') ? '' : `\nSee 'berth ${commandPath ? `${commandPath} ` : ''}--help'.`}\n`);
    else if (err instanceof Error && err.name === 'ApiError') await write(io.stderr, `Error response from daemon: ${err.message}\n`);
    else await write(io.stderr, `${describeError(err)}\n`);
    return code;
  }
}
