const GONE = Symbol('gone');
const MAX_DEPTH = 8;

/**
 * A Map that forks in O(1): `fork()` freezes the current contents as a shared parent and returns
 * two children that each see it and record only their own changes. Chains are flattened when they
 * grow deeper than a few levels, so a lookup stays O(1) amortized.
 */
export class CowMap<K, V> {
  private own = new Map<K, V | typeof GONE>();
  private parent: CowMap<K, V> | undefined;
  private depth = 0;
  private frozen = false;

  get(key: K): V | undefined {
    for (let map: CowMap<K, V> | undefined = this; map; map = map.parent) {
      const value = map.own.get(key);
      if (value === GONE) return undefined;
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** The value only if this map holds it itself (not through a shared parent): safe to mutate. */
  getOwn(key: K): V | undefined {
    const value = this.own.get(key);
    return value === GONE ? undefined : value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  set(key: K, value: V): void {
    this.assertWritable();
    this.own.set(key, value);
  }

  delete(key: K): void {
    this.assertWritable();
    if (this.parent?.has(key)) this.own.set(key, GONE);
    else this.own.delete(key);
  }

  *entries(): IterableIterator<[K, V]> {
    const seen = new Set<K>();
    for (let map: CowMap<K, V> | undefined = this; map; map = map.parent) {
      for (const [key, value] of map.own) {
        if (seen.has(key)) continue;
        seen.add(key);
        if (value !== GONE) yield [key, value];
      }
    }
  }

  get size(): number {
    let count = 0;
    for (const _ of this.entries()) count++;
    return count;
  }

  /** Freezes this map and returns two independent children of it; this map may no longer change. */
  fork(): [CowMap<K, V>, CowMap<K, V>] {
    this.frozen = true;
    return [this.child(), this.child()];
  }

  private child(): CowMap<K, V> {
    const child = new CowMap<K, V>();
    if (this.depth < MAX_DEPTH) {
      child.parent = this;
      child.depth = this.depth + 1;
    } else {
      child.own = new Map(this.entries());
    }
    return child;
  }

  private assertWritable(): void {
    if (this.frozen) throw new Error('CowMap was forked: write to one of its children');
  }
}
