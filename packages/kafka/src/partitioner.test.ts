import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { compatiblePartitioner, murmur2 } from './partitioner.ts';

// kafkajs's murmur2 (a port of the Java client's, in 64-bit Long arithmetic): the reference the partitions must match.
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer,
) => number;

describe('murmur2', () => {
  it('matches kafkajs (the Java client) for keys of every tail length, empty and non-ASCII keys', () => {
    const keys = [
      Buffer.alloc(0),
      Buffer.from('a'),
      Buffer.from('ab'),
      Buffer.from('abc'),
      Buffer.from('abcd'),
      Buffer.from('eu-1/shop/web-1'),
      Buffer.from('prod/kube-system/coredns-7c65d6cfc9-xk2lp'),
      Buffer.from('ünïcødé/名前/pod'),
      ...Array.from({ length: 64 }, (_, i) => randomBytes(i)),
      randomBytes(4096),
      randomBytes(4099),
    ];
    for (const key of keys) expect(murmur2(key), key.toString('hex')).toBe(kafkajsMurmur2(key));
  });

  it('known values of the Java client (Utils.murmur2 of "21", "foobar", "a-little-bit-long-string")', () => {
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-long-string'))).toBe(-985981536);
  });

  it('hashes a 1 MiB key in linear time (the library it replaces, and kafkajs, take minutes)', () => {
    const key = Buffer.alloc(1 << 20, 'a');
    const t0 = performance.now();
    const partition = compatiblePartitioner(undefined, key);
    expect(performance.now() - t0).toBeLessThan(250);
    expect(partition).toBe(370754295);
  });

  it('partitions like kafkajs: non-negative, the same for the same key, 0 without a key', () => {
    expect(compatiblePartitioner(undefined, Buffer.from('foobar'))).toBe(-790332482 & 0x7fffffff);
    expect(compatiblePartitioner(undefined, undefined)).toBe(0);
  });
});
