import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Container, createFs } from '../../src/index.js';
import { setup, thrown } from './helpers.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('fs.watch', () => {
  it('a directory watcher sees names appear, change and go', async () => {
    const { fs } = setup();
    const events: string[] = [];
    const watcher = fs.watch('/etc', (type, name) => events.push(`${type} ${name}`));
    fs.writeFileSync('/etc/motd', 'hi');
    fs.chmodSync('/etc/hosts', 0o600);
    fs.renameSync('/etc/motd', '/etc/motd2');
    fs.unlinkSync('/etc/passwd');
    fs.writeFileSync('/usr/elsewhere', 'not watched');
    await tick();
    watcher.close();
    expect(events).toEqual(['rename motd', 'change motd', 'change hosts', 'rename motd', 'rename motd2', 'rename passwd']);
  });

  it('a file watcher sees writes through any name and through fds', async () => {
    const { fs } = setup();
    const events: string[] = [];
    const watcher = fs.watch('/link', (type, name) => events.push(`${type} ${name}`));
    fs.appendFileSync('/etc/hosts', 'more');
    const fd = fs.openSync('/etc/hosts', 'r+');
    fs.writeSync(fd, 'X', 0);
    fs.closeSync(fd);
    await tick();
    watcher.close();
    expect(events).toEqual(['change hosts', 'change hosts']);
  });

  it('a watcher sees changes made through another fs object over the same container, not another container', async () => {
    const { fs, container, image, store } = setup();
    const other = createFs(container, { cwd: '/etc' });
    const stranger = createFs(new Container(image, store));
    const events: string[] = [];
    const watcher = fs.watch('/etc', (type, name) => events.push(`${type} ${name}`));
    other.writeFileSync('motd', 'from the other fs');
    stranger.writeFileSync('/etc/elsewhere', 'another container');
    await tick();
    watcher.close();
    expect(events).toEqual(['rename motd', 'change motd']);
    expect(fs.readFileSync('/etc/motd', 'utf8')).toBe('from the other fs');
  });

  it('recursive watchers report paths relative to the watched directory', async () => {
    const { fs } = setup();
    const watcher = fs.watch('/home', { recursive: true });
    const seen = once(watcher, 'change');
    fs.writeFileSync('/home/user/deep.txt', 'x');
    expect(await seen).toEqual(['rename', 'user/deep.txt']);
    watcher.close();
    await once(watcher, 'close');
  });

  it('watching a missing path throws ENOENT watch; a closed watcher stays quiet', async () => {
    const { fs } = setup();
    expect(thrown(() => fs.watch('/nope'))).toMatchObject({ code: 'ENOENT', syscall: 'watch', path: '/nope' });
    const events: string[] = [];
    const watcher = fs.watch('/etc', (type) => events.push(type));
    watcher.close();
    fs.writeFileSync('/etc/x', '1');
    await tick();
    expect(events).toEqual([]);
  });

  it('fs.promises.watch yields events until aborted', async () => {
    const { fs } = setup();
    const controller = new AbortController();
    const seen: string[] = [];
    const iterating = (async () => {
      try {
        for await (const { eventType, filename } of fs.promises.watch('/etc', { signal: controller.signal })) {
          seen.push(`${eventType} ${filename}`);
          if (seen.length === 2) controller.abort();
        }
      } catch (error) {
        return (error as Error).name;
      }
      return 'ended';
    })();
    await tick();
    fs.writeFileSync('/etc/a', '1');
    expect(await iterating).toBe('AbortError');
    expect(seen).toEqual(['rename a', 'change a']);
  });
});

describe('fs.watchFile', () => {
  it('calls listeners with the stats after and before each change', async () => {
    const { fs } = setup();
    const calls: [number, number][] = [];
    const listener = (current: { size: number }, previous: { size: number }) => calls.push([current.size, previous.size]);
    fs.watchFile('/etc/passwd', listener);
    fs.appendFileSync('/etc/passwd', 'bin:x:1:1\n');
    await tick();
    fs.unlinkSync('/etc/passwd');
    await tick();
    fs.writeFileSync('/etc/passwd', 'new');
    await tick();
    fs.unwatchFile('/etc/passwd', listener);
    fs.appendFileSync('/etc/passwd', 'ignored');
    await tick();
    expect(calls).toEqual([
      [21, 11],
      [0, 21],
      [3, 0],
    ]);
  });

  it('watches a file that does not exist yet', async () => {
    const { fs } = setup();
    const watcher = fs.watchFile('/later', { interval: 10 }, () => {});
    const change = once(watcher, 'change');
    fs.writeFileSync('/later', 'now');
    const [current, previous] = await change;
    expect(previous.ino).toBe(0);
    expect(current.isFile()).toBe(true);
    fs.unwatchFile('/later');
  });
});
