#!/usr/bin/env -S -u NODE_EXTRA_CA_CERTS BERTH_EXTRA_CA_CERTS=${NODE_EXTRA_CA_CERTS} node
/**
 * `berth`: the command table, and the start. Adding a command is one file,
 * commands/<noun>/<verb>.ts exporting `command = defineCommand({...})`, plus its line here:
 * the names it answers to (`container ls` style names make a management group), the summary
 * `berth --help` shows, the section, and its module (loaded only when that command runs).
 *
 * The start runs the bundle (berth.bundle.js with its V8 code cache, scripts/bundle.js) when the
 * build made one, else the modules tsc emitted beside this file. The shebang starts node without
 * NODE_EXTRA_CA_CERTS (core/node/extra-ca.ts): most commands never speak TLS.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandEntry } from './command';
import { loadWithCodeCache } from '../core/node/code-cache';
import { restoreExtraCaForChildren } from '../core/node/extra-ca';

/* eslint-disable @typescript-eslint/no-require-imports -- each command loads when it runs */
export const COMMANDS: readonly CommandEntry[] = [
  {
    names: ['run', 'container run'],
    summary: 'Create and run a new container from an image',
    section: 'common',
    load: () => require('./commands/container/run'),
  },
  {
    names: ['exec', 'container exec'],
    summary: 'Execute a command in a running container',
    section: 'common',
    load: () => require('./commands/container/exec'),
  },
  {
    names: ['ps', 'container ls', 'container list', 'container ps'],
    summary: 'List containers',
    section: 'common',
    load: () => require('./commands/container/ls'),
  },
  { names: ['images', 'image ls', 'image list'], summary: 'List images', section: 'common', load: () => require('./commands/image/ls') },
  { names: ['pull', 'image pull'], summary: 'Download an image from a registry', section: 'common', load: () => require('./commands/image/pull') },
  { names: ['push', 'image push'], summary: 'Upload an image to a registry', section: 'common', load: () => require('./commands/image/push') },
  { names: ['login'], summary: 'Log in to a registry', section: 'common', load: () => require('./commands/image/login') },
  { names: ['logout'], summary: 'Log out from a registry', section: 'common', load: () => require('./commands/image/logout') },
  { names: ['rmi', 'image rm', 'image remove'], summary: 'Remove one or more images', section: 'commands', load: () => require('./commands/image/rm') },
  {
    names: ['tag', 'image tag'],
    summary: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
    section: 'commands',
    load: () => require('./commands/image/tag'),
  },
  {
    names: ['save', 'image save'],
    summary: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
    section: 'commands',
    load: () => require('./commands/image/save'),
  },
  { names: ['load', 'image load'], summary: 'Load an image from a tar archive or STDIN', section: 'commands', load: () => require('./commands/image/load') },
  { names: ['version'], summary: 'Show the berth version information', section: 'common', load: () => require('./commands/system/version') },
  { names: ['info', 'system info'], summary: 'Display system-wide information', section: 'common', load: () => require('./commands/system/info') },
  {
    names: ['attach', 'container attach'],
    summary: 'Attach local standard input, output, and error streams to a running container',
    section: 'commands',
    load: () => require('./commands/container/attach'),
  },
  {
    names: ['commit', 'container commit'],
    summary: "Create a new image from a container's changes",
    section: 'commands',
    load: () => require('./commands/container/commit'),
  },
  { names: ['create', 'container create'], summary: 'Create a new container', section: 'commands', load: () => require('./commands/container/create') },
  { names: ['events', 'system events'], summary: 'Get real time events from berthd', section: 'commands', load: () => require('./commands/system/events') },
  { names: ['inspect'], summary: 'Return low-level information on containers and images', section: 'commands', load: () => require('./commands/inspect') },
  {
    names: ['container inspect'],
    summary: 'Display detailed information on one or more containers',
    section: 'management',
    load: () => require('./commands/container/inspect'),
  },
  {
    names: ['image inspect'],
    summary: 'Display detailed information on one or more images',
    section: 'management',
    load: () => require('./commands/image/inspect'),
  },
  { names: ['kill', 'container kill'], summary: 'Kill one or more running containers', section: 'commands', load: () => require('./commands/container/kill') },
  { names: ['logs', 'container logs'], summary: 'Fetch the logs of a container', section: 'commands', load: () => require('./commands/container/logs') },
  {
    names: ['pause', 'container pause'],
    summary: 'Pause all processes within one or more containers',
    section: 'commands',
    load: () => require('./commands/container/pause'),
  },
  {
    names: ['restart', 'container restart'],
    summary: 'Restart one or more containers',
    section: 'commands',
    load: () => require('./commands/container/restart'),
  },
  {
    names: ['rm', 'container rm', 'container remove'],
    summary: 'Remove one or more containers',
    section: 'commands',
    load: () => require('./commands/container/rm'),
  },
  { names: ['rename', 'container rename'], summary: 'Rename a container', section: 'commands', load: () => require('./commands/container/rename') },
  {
    names: ['start', 'container start'],
    summary: 'Start one or more stopped containers',
    section: 'commands',
    load: () => require('./commands/container/start'),
  },
  {
    names: ['stats', 'container stats'],
    summary: 'Display a live stream of container(s) resource usage statistics',
    section: 'commands',
    load: () => require('./commands/container/stats'),
  },
  { names: ['stop', 'container stop'], summary: 'Stop one or more running containers', section: 'commands', load: () => require('./commands/container/stop') },
  {
    names: ['top', 'container top'],
    summary: 'Display the running processes of a container',
    section: 'commands',
    load: () => require('./commands/container/top'),
  },
  {
    names: ['unpause', 'container unpause'],
    summary: 'Unpause all processes within one or more containers',
    section: 'commands',
    load: () => require('./commands/container/unpause'),
  },
  {
    names: ['wait', 'container wait'],
    summary: 'Block until one or more containers stop, then print their exit codes',
    section: 'commands',
    load: () => require('./commands/container/wait'),
  },
  { names: ['network create'], summary: 'Create a network', section: 'management', load: () => require('./commands/network/create') },
  { names: ['network ls', 'network list'], summary: 'List networks', section: 'management', load: () => require('./commands/network/ls') },
  {
    names: ['network inspect'],
    summary: 'Display detailed information on one or more networks',
    section: 'management',
    load: () => require('./commands/network/inspect'),
  },
  { names: ['network rm', 'network remove'], summary: 'Remove one or more networks', section: 'management', load: () => require('./commands/network/rm') },
  { names: ['network prune'], summary: 'Remove all unused networks', section: 'management', load: () => require('./commands/network/prune') },
  { names: ['network connect'], summary: 'Connect a container to a network', section: 'management', load: () => require('./commands/network/connect') },
  {
    names: ['network disconnect'],
    summary: 'Disconnect a container from a network',
    section: 'management',
    load: () => require('./commands/network/disconnect'),
  },
  { names: ['system df'], summary: 'Show disk usage', section: 'management', load: () => require('./commands/system/df') },
  {
    names: ['cp', 'container cp'],
    summary: 'Copy files/folders between a container and the local filesystem',
    section: 'commands',
    load: () => require('./commands/container/cp'),
  },
  {
    names: ['diff', 'container diff'],
    summary: "Inspect changes to files or directories on a container's filesystem",
    section: 'commands',
    load: () => require('./commands/container/diff'),
  },
  {
    names: ['export', 'container export'],
    summary: "Export a container's filesystem as a tar archive",
    section: 'commands',
    load: () => require('./commands/container/export'),
  },
  {
    names: ['update', 'container update'],
    summary: 'Update configuration of one or more containers',
    section: 'commands',
    load: () => require('./commands/container/update'),
  },
  { names: ['history', 'image history'], summary: 'Show the history of an image', section: 'commands', load: () => require('./commands/image/history') },
  {
    names: ['import', 'image import'],
    summary: 'Import the contents from a tarball to create a filesystem image',
    section: 'commands',
    load: () => require('./commands/image/import'),
  },
  { names: ['container prune'], summary: 'Remove all stopped containers', section: 'management', load: () => require('./commands/container/prune') },
  { names: ['image prune'], summary: 'Remove unused images', section: 'management', load: () => require('./commands/image/prune') },
  { names: ['system prune'], summary: 'Remove unused data', section: 'management', load: () => require('./commands/system/prune') },
  { names: ['volume create'], summary: 'Create a volume', section: 'management', load: () => require('./commands/volume/create') },
  { names: ['volume ls', 'volume list'], summary: 'List volumes', section: 'management', load: () => require('./commands/volume/ls') },
  {
    names: ['volume inspect'],
    summary: 'Display detailed information on one or more volumes',
    section: 'management',
    load: () => require('./commands/volume/inspect'),
  },
  { names: ['volume rm', 'volume remove'], summary: 'Remove one or more volumes', section: 'management', load: () => require('./commands/volume/rm') },
  { names: ['volume prune'], summary: 'Remove unused local volumes', section: 'management', load: () => require('./commands/volume/prune') },
  { names: ['completion'], summary: 'Print a shell completion script (bash or zsh)', section: 'commands', load: () => require('./commands/completion') },
  { names: ['content ls', 'content list'], summary: 'List blobs in the content store', section: 'low-level', load: () => require('./commands/content/ls') },
  { names: ['content get'], summary: 'Write a blob to stdout', section: 'low-level', load: () => require('./commands/content/get') },
  { names: ['content ingest'], summary: 'Store a blob from stdin', section: 'low-level', load: () => require('./commands/content/ingest') },
  {
    names: ['content rm', 'content delete'],
    summary: 'Remove blobs from the content store',
    section: 'low-level',
    load: () => require('./commands/content/rm'),
  },
  { names: ['snapshots ls', 'snapshots list', 'snapshot ls'], summary: 'List snapshots', section: 'low-level', load: () => require('./commands/snapshots/ls') },
  { names: ['snapshots info', 'snapshot info'], summary: 'Show a snapshot', section: 'low-level', load: () => require('./commands/snapshots/info') },
  {
    names: ['snapshots usage', 'snapshot usage'],
    summary: 'Show the disk usage of snapshots',
    section: 'low-level',
    load: () => require('./commands/snapshots/usage'),
  },
  {
    names: ['snapshots rm', 'snapshots delete', 'snapshot rm'],
    summary: 'Remove snapshots',
    section: 'low-level',
    load: () => require('./commands/snapshots/rm'),
  },
  {
    names: ['namespaces ls', 'namespaces list', 'namespace ls'],
    summary: 'List namespaces',
    section: 'low-level',
    load: () => require('./commands/namespaces/ls'),
  },
  {
    names: ['namespaces create', 'namespace create'],
    summary: 'Create a namespace',
    section: 'low-level',
    load: () => require('./commands/namespaces/create'),
  },
  {
    names: ['namespaces rm', 'namespaces remove', 'namespace rm'],
    summary: 'Remove namespaces',
    section: 'low-level',
    load: () => require('./commands/namespaces/rm'),
  },
  { names: ['leases ls', 'leases list', 'lease ls'], summary: 'List leases', section: 'low-level', load: () => require('./commands/leases/ls') },
  { names: ['leases create', 'lease create'], summary: 'Create a lease', section: 'low-level', load: () => require('./commands/leases/create') },
  { names: ['leases rm', 'leases delete', 'lease rm'], summary: 'Remove leases', section: 'low-level', load: () => require('./commands/leases/rm') },
];
/* eslint-enable @typescript-eslint/no-require-imports */

/** Runs the CLI with these arguments; resolves with the exit code. */
export function run(argv: readonly string[]): Promise<number> {
  return (require('./main') as typeof import('./main')).main(COMMANDS, argv); // eslint-disable-line @typescript-eslint/no-require-imports
}

/** Every command module, for the build's code cache (scripts/bundle.js) and for completion. */
export function loadAll(): void {
  for (const e of COMMANDS) e.load();
  require('./main'); // eslint-disable-line @typescript-eslint/no-require-imports
}

if (require.main === module) {
  restoreExtraCaForChildren();
  const bundle = join(__dirname, 'berth.bundle.js');
  const entry = (existsSync(bundle) ? loadWithCodeCache(bundle, require).exports : module.exports) as { run: typeof run };
  void entry.run(process.argv.slice(2)).then((code) => process.exit(code));
}
