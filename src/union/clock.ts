const epochAtStart = BigInt(Date.now()) * 1_000_000n;
const hrtimeAtStart = process.hrtime.bigint();

/** Nanoseconds since the epoch, monotonic within the process. */
export function nowNs(): bigint {
  return epochAtStart + (process.hrtime.bigint() - hrtimeAtStart);
}
