import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/tmp.js';
import { layerfs, storeCli } from './helpers.js';

describe('layerfs command line', () => {
  it('without a command prints the help on stderr and exits 2; --help exits 0', async () => {
    const bare = await layerfs([]);
    expect(bare.status).toBe(2);
    expect(bare.stderr).toMatch(/^layerfs: images and containers/);
    const help = await layerfs(['--help']);
    expect(help.status).toBe(0);
    for (const command of ['import', 'images', 'create', 'ps', 'mount', 'umount', 'diff', 'commit', 'fork', 'rm', 'rmi', 'df', 'gc', 'verify']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
    }
  });

  it('every command has --help, which touches no store', async () => {
    const { store, run } = storeCli();
    const create = await run('create', '--help');
    expect(create.status).toBe(0);
    expect(create.stdout).toMatch(/^Usage: layerfs create IMAGE --name NAME/);
    expect(create.stdout).toMatch(/--name NAME/);
    const mount = await run('mount', '-h');
    expect(mount.stdout).toMatch(/--daemon/);
    expect(fs.existsSync(store)).toBe(false);
  });

  it('usage errors exit 2 with the usage line and what is missing', async () => {
    const { run } = storeCli();
    const cases: [string[], RegExp][] = [
      [['create', 'base'], /^layerfs create: missing --name NAME\nUsage: layerfs create IMAGE --name NAME\nRun 'layerfs create --help' for more\.\n$/],
      [['create'], /^layerfs create: missing IMAGE\n/],
      [['import', '/tmp'], /missing --tag NAME/],
      [['images', 'extra'], /unexpected argument "extra"/],
      [['ps', '--bogus'], /^layerfs ps: Unknown option '--bogus'/],
      [['mount', 'web'], /missing MOUNTPOINT/],
      [['mount', '--all', 'a', 'b'], /--all takes only MOUNTPOINT/],
      [['mount', 'web', '/mnt', '--save-interval', 'soon'], /--save-interval must be a positive number/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(...args)));
    for (const [index, [args, expected]] of cases.entries()) {
      const result = results[index]!;
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(expected);
      expect(result.stdout).toBe('');
    }
    const unknown = await layerfs(['launch']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "launch"; the commands are import, images/);
  });

  it('operational failures exit 1 with a message that says what to do', async () => {
    const { run } = storeCli();
    const cases: [string[], string][] = [
      [['create', 'base', '--name', 'web'], 'layerfs: no image named "base" (`layerfs images` lists them)\n'],
      [['create', 'base', '--name', '../web'], `layerfs: invalid container name "../web": use letters, digits, '_', '.' and '-', starting with a letter or digit (at most 128 characters)\n`],
      [['import', '/no/such/dir', '--tag', 'x'], 'layerfs: /no/such/dir does not exist; give a directory or a tar archive to import\n'],
      [['diff', 'web'], 'layerfs: no container named "web" (`layerfs ps` lists them)\n'],
      [['umount', '/no/such/mountpoint'], 'layerfs: /no/such/mountpoint is not mounted\n'],
    ];
    // One store opened by several processes at once, which is allowed.
    const results = await Promise.all(cases.map(([args]) => run(...args)));
    for (const [index, [args, message]] of cases.entries()) {
      const result = results[index]!;
      expect(result.status, args.join(' ')).toBe(1);
      expect(result.stderr).toBe(message);
    }
  });

  it('finds the store through --store, then $LAYERFS_STORE, then $XDG_DATA_HOME/layerfs', async () => {
    const home = tempDir();
    const fromEnv = path.join(home, 'env-store');
    await layerfs(['images'], { LAYERFS_STORE: fromEnv });
    expect(fs.existsSync(path.join(fromEnv, 'layerfs.json'))).toBe(true);
    await layerfs(['images'], { XDG_DATA_HOME: path.join(home, 'data') });
    expect(fs.existsSync(path.join(home, 'data', 'layerfs', 'layerfs.json'))).toBe(true);
    const flag = path.join(home, 'flag-store');
    await layerfs(['images', '--store', flag], { LAYERFS_STORE: fromEnv });
    expect(fs.existsSync(path.join(flag, 'layerfs.json'))).toBe(true);
  });

  it('refuses a folder that is not a store', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'thesis.tex'), 'mine');
    const result = await layerfs(['--store', dir, 'images']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/is not a layerfs store .*choose a new or empty directory/);
  });
});
