import { describe, expect, it } from 'vitest';
import { Container, createFs } from '../../src/index.js';
import { setup, thrown } from './helpers.js';

describe('extended attributes (layerfs extension)', () => {
  it('round-trips bytes and strings, lists names, removes them', () => {
    const { fs } = setup();
    fs.setxattrSync('/etc/hosts', 'user.bytes', new Uint8Array([0, 1, 255]));
    fs.setxattrSync('/etc/hosts', 'security.selinux', 'system_u:object_r:etc_t');
    expect(fs.getxattrSync('/etc/hosts', 'user.bytes')).toEqual(Buffer.from([0, 1, 255]));
    expect(fs.getxattrSync('/etc/hosts', 'security.selinux', { encoding: 'utf8' })).toBe('system_u:object_r:etc_t');
    expect(fs.listxattrSync('/etc/hosts').sort()).toEqual(['security.selinux', 'user.bytes']);
    fs.removexattrSync('/etc/hosts', 'user.bytes');
    expect(fs.listxattrSync('/etc/hosts')).toEqual(['security.selinux']);
    expect(thrown(() => fs.removexattrSync('/etc/hosts', 'user.bytes'))).toMatchObject({
      code: 'ENODATA',
      errno: -61,
      syscall: 'removexattr',
      message: "ENODATA: no data available, removexattr '/etc/hosts'",
    });
  });

  it('create and replace flags', () => {
    const { fs } = setup();
    expect(thrown(() => fs.setxattrSync('/etc', 'user.a', 'x', { flag: 'replace' }))).toMatchObject({ code: 'ENODATA', syscall: 'setxattr' });
    fs.setxattrSync('/etc', 'user.a', 'x', { flag: 'create' });
    expect(thrown(() => fs.setxattrSync('/etc', 'user.a', 'y', { flag: 'create' }))).toMatchObject({ code: 'EEXIST', syscall: 'setxattr' });
    fs.setxattrSync('/etc', 'user.a', 'y', { flag: 'replace' });
    expect(fs.getxattrSync('/etc', 'user.a', { encoding: 'utf8' })).toBe('y');
  });

  it('follow: false acts on the symlink itself (lgetxattr and friends)', () => {
    const { fs } = setup();
    fs.setxattrSync('/link', 'user.on', 'link', { follow: false });
    expect(fs.listxattrSync('/link', { follow: false })).toEqual(['user.on']);
    expect(fs.listxattrSync('/etc/hosts')).toEqual([]);
    expect(thrown(() => fs.getxattrSync('/link', 'user.on'))).toMatchObject({ syscall: 'getxattr', path: '/link' });
    expect(thrown(() => fs.getxattrSync('/missing', 'user.on', { follow: false }))).toMatchObject({ code: 'ENOENT', syscall: 'lgetxattr' });
  });

  it('have callback and promise forms', async () => {
    const { fs } = setup();
    await fs.promises.setxattr('/etc/passwd', 'user.p', 'promised');
    expect(await fs.promises.getxattr('/etc/passwd', 'user.p', { encoding: 'utf8' })).toBe('promised');
    expect(await fs.promises.listxattr('/etc/passwd')).toEqual(['user.p']);
    const value = await new Promise((resolve, reject) => fs.getxattr('/etc/passwd', 'user.p', (error, data) => (error ? reject(error) : resolve(String(data)))));
    expect(value).toBe('promised');
    await fs.promises.removexattr('/etc/passwd', 'user.p');
    await expect(fs.promises.getxattr('/etc/passwd', 'user.p')).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('come from the image, copy up without touching it, and survive commit', () => {
    const { fs, container, store } = setup({ '/f': { kind: 'file', data: 'x', xattrs: { 'user.from': 'image' } } });
    expect(fs.getxattrSync('/f', 'user.from', { encoding: 'utf8' })).toBe('image');
    fs.setxattrSync('/f', 'user.added', 'container');
    const fresh = createFs(new Container(container.image, store));
    expect(fresh.listxattrSync('/f')).toEqual(['user.from']);
    const { image } = container.commit();
    expect(createFs(new Container(image, store)).listxattrSync('/f').sort()).toEqual(['user.added', 'user.from']);
  });
});
