/**
 * The FUSE front end (Linux, through fuse-native): serves a container as a real directory so any
 * program can use it. It only translates: paths to inodes, FUSE arguments to the union view's,
 * ErrnoErrors to negative errno (anything else is logged and answered as EIO). One daemon can
 * serve many containers, each under its own name.
 */
export { mountContainer, mountMany, cleanStaleMount, lazyUnmount, type FuseMount, type MountOptions } from './mount.js';
export { unionOps, errnoOf, type OpHooks } from './ops.js';
