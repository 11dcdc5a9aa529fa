/**
 * Device numbers as Linux encodes them in dev_t (glibc's makedev in <sys/sysmacros.h>), the form
 * stat reports as `rdev` and layers store: tar and mknod speak major and minor instead.
 */

export function makedev(major: number, minor: number): number {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return Number(((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn));
}

export function devMajor(rdev: number): number {
  const dev = BigInt(rdev);
  return Number(((dev >> 32n) & 0xfffff000n) | ((dev >> 8n) & 0xfffn));
}

export function devMinor(rdev: number): number {
  const dev = BigInt(rdev);
  return Number(((dev >> 12n) & 0xffffff00n) | (dev & 0xffn));
}
