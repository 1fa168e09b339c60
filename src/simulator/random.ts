/**
 * Deterministic randomness: the same seed gives the same data set, tokens and faults on every
 * machine. Values for one record are derived from (seed, parts…) alone, so record N can be made
 * without making records 1…N-1 — the key to exports of millions of rows in flat memory.
 */

/** A 32-bit avalanche mix of several integers (murmur3 finaliser per part). */
export function hash32(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    let k = Math.imul(part | 0, 0xcc9e2d51) ^ Math.floor(part / 0x100000000);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    h ^= k;
    h = Math.imul((h << 13) | (h >>> 19), 5) + 0xe6546b64;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A small, fast PRNG (mulberry32) for sequences of draws. */
export class Rng {
  private state: number;

  constructor(...seedParts: number[]) {
    this.state = hash32(...seedParts);
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** `count` random bytes as lower-case hex. */
  hex(bytes: number): string {
    let out = '';
    while (out.length < bytes * 2) out += (Math.floor(this.next() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
    return out.slice(0, bytes * 2);
  }
}
