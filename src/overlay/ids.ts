/**
 * fuse-overlayfs's `uidmapping=CONTAINER:HOST:SIZE[:...]` (and gidmapping): ids as stored on disk
 * (host) and as the mount shows them (container). An id outside every range shows as the
 * overflow id 65534, as the kernel shows unmapped ids in a user namespace.
 */
export interface IdRange {
  container: number;
  host: number;
  size: number;
}

const OVERFLOW_ID = 65534;

export class IdMap {
  constructor(private readonly ranges: readonly IdRange[]) {}

  static parse(text: string, option: string): IdMap {
    const numbers = text.split(':').map((part) => Number(part));
    if (numbers.length % 3 !== 0 || numbers.some((n) => !Number.isSafeInteger(n) || n < 0)) {
      throw new Error(`${option}=${text}: expected CONTAINER:HOST:SIZE triples separated by ':'`);
    }
    const ranges: IdRange[] = [];
    for (let at = 0; at < numbers.length; at += 3) ranges.push({ container: numbers[at]!, host: numbers[at + 1]!, size: numbers[at + 2]! });
    return new IdMap(ranges);
  }

  get identity(): boolean {
    return this.ranges.length === 0;
  }

  /** The id the mount shows for an id on disk. */
  toContainer(host: number): number {
    if (this.identity) return host;
    for (const range of this.ranges) if (host >= range.host && host < range.host + range.size) return range.container + host - range.host;
    return OVERFLOW_ID;
  }

  /** The id written to disk for an id the mount was given (EINVAL when no range holds it). */
  toHost(container: number): number | undefined {
    if (this.identity) return container;
    for (const range of this.ranges) {
      if (container >= range.container && container < range.container + range.size) return range.host + container - range.container;
    }
    return undefined;
  }
}
