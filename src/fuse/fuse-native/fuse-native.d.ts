// The part of fuse-native (2.2.6, untyped) that layerfs uses.
declare module 'fuse-native' {
  type Callback = (result: number, ...values: unknown[]) => void;
  export interface FuseOptions {
    force?: boolean;
    mkdir?: boolean;
    fsname?: string;
    timeout?: number | false;
    kernelCache?: boolean;
    autoCache?: boolean;
    attrTimeout?: number;
    entryTimeout?: number;
    maxRead?: number;
    allowOther?: boolean;
    defaultPermissions?: boolean;
    debug?: boolean;
  }
  export default class Fuse {
    constructor(mountpoint: string, ops: Record<string, (...args: never[]) => void>, options?: FuseOptions);
    readonly mnt: string;
    ops: Record<string, (...args: never[]) => void>;
    mount(cb: (error: Error | null) => void): void;
    unmount(cb: (error: Error | null) => void): void;
    static unmount(mountpoint: string, cb: (error: Error | null) => void): void;
    static isConfigured(cb: (error: Error | null, configured: boolean) => void): void;
  }
  export type { Callback };
}
