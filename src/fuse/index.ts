/**
 * The FUSE front end (Linux): serves a container as a real directory so any program can use it.
 * It only translates: the kernel's inode requests to the union view's calls, ErrnoErrors to
 * errno (anything else is logged and answered as EIO). One daemon can serve many containers,
 * each under its own name.
 */
export { mountContainer, mountMany, cleanStaleMount, lazyUnmount, type FuseMount, type MountOptions } from './mount.js';
export { unmountPath } from './unmount.js';
export { unionNodeOps, type OpHooks } from './union-ops.js';
