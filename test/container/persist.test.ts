import { describe, expect, it } from 'vitest';
import { Container, FormatError, Image, LayerBuilder, MemoryBlobStore } from '../../src/index.js';
import { imageOf, tree, writeText } from './helpers.js';

describe('saving and loading an upper layer', () => {
  it('a loaded container shows the same tree, links and inode numbers', () => {
    const { container, image, store } = imageOf({ '/etc/hosts': 'h', '/usr/lib/a': 'a', '/l': { kind: 'link', target: '/etc/hosts' } });
    const c = container();
    writeText(c, '/etc/hosts', 'new');
    c.rename('/usr', '/opt');
    c.mkdir('/usr');
    c.symlink('/opt', '/o');
    c.setxattr(c.resolve('/opt'), 'user.k', Buffer.from('v'));
    const loaded = Container.load(image, store, c.saveUpper());
    expect(tree(loaded)).toEqual(tree(c));
    expect(loaded.resolve('/l')).toBe(c.resolve('/etc/hosts'));
    expect(loaded.resolve('/opt/lib/a')).toBe(c.resolve('/opt/lib/a'));
    expect(Buffer.from(loaded.xattrs(loaded.resolve('/opt')).get('user.k')!).toString()).toBe('v');
    writeText(loaded, '/new', 'n');
    expect(loaded.resolve('/new')).toBeGreaterThan(c.resolve('/o', { follow: false }));
  });

  it('a 4 KiB write into a large file costs a few bytes of upper layer, not its chunk list', () => {
    const store = new MemoryBlobStore();
    const image = new Image([new LayerBuilder(store).file('/big', new Uint8Array(64 * 1024 * 1024).fill(1)).build()]);
    const c = new Container(image, store);
    c.write(c.resolve('/big'), 10_000_000, new Uint8Array(4096).fill(2));
    expect(c.saveUpper().length).toBeLessThan(200);
  });

  it('rejects bytes that are not an upper layer of this image', () => {
    const { image, store } = imageOf({ '/f': 'x' });
    expect(() => Container.load(image, store, Buffer.from('LFSU\x09'))).toThrow(FormatError);
    expect(() => Container.load(image, store, Buffer.from('nope!'))).toThrow(FormatError);
    const other = imageOf({ '/f': 'x' });
    const c = other.container();
    writeText(c, '/f', 'y');
    const bytes = c.saveUpper();
    expect(() => Container.load(new Image([]), store, bytes)).toThrow(/origin/);
    for (let cut = 0; cut < bytes.length; cut++) expect(() => Container.load(image, store, bytes.subarray(0, cut))).toThrow(FormatError);
  });
});
