/**
 * The overlay directory format, as kernel overlayfs, fuse-overlayfs and containers-storage keep
 * layers on disk (Documentation/filesystems/overlayfs.rst): a whiteout is a character device
 * 0/0 or, where devices cannot be made, an empty `.wh.NAME` file; an opaque directory carries
 * `trusted.overlay.opaque=y` (`user.overlay.opaque` for unprivileged mounts, fuse-overlayfs's own
 * `user.fuseoverlayfs.opaque`) or holds `.wh..wh..opq`; a renamed lower directory carries
 * `*.overlay.redirect`: the path of its lower directory (absolute from the layer root, or a bare
 * name in the same parent).
 */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
/** AUFS's metadata names (`.wh..wh.plnk`, `.wh..wh..tmp`): not entries of the tree. */
export const AUFS_META_PREFIX = '.wh..wh.';

export const OPAQUE_XATTRS = ['trusted.overlay.opaque', 'user.overlay.opaque', 'user.fuseoverlayfs.opaque'] as const;
export const REDIRECT_XATTRS = ['trusted.overlay.redirect', 'user.overlay.redirect'] as const;

/** overlayfs's own bookkeeping (opaque, redirect, origin, impure, metacopy): never a file's xattr. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.') || name.startsWith('user.fuseoverlayfs.');
}

/** The namespace an upper layer is written in: trusted.* needs CAP_SYS_ADMIN, user.* does not. */
export function overlayXattr(kind: 'opaque' | 'redirect', privileged: boolean): string {
  return `${privileged ? 'trusted' : 'user'}.overlay.${kind}`;
}
