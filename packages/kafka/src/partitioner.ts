/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`, which kafkajs's partitioners also use) in 32-bit
 * integer arithmetic. @platformatic/kafka 1.35's own murmur2 keeps its hash in a BigInt that is never
 * masked back to 32 bits, so it grows by 32 bits per 4 key bytes and hashing costs the square of the
 * key's length (measured: a 64 KiB key 0.9 s, a 1 MiB key minutes, on the event loop).
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = 0x9747b28c ^ length;
  const end = length - (length % 4);
  for (let i = 0; i < end; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  // The tail bytes, as the Java client's switch mixes them by falling through.
  const rest = length % 4;
  if (rest >= 3) h ^= data[end + 2]! << 16;
  if (rest >= 2) h ^= data[end + 1]! << 8;
  if (rest >= 1) {
    h ^= data[end]!;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The Java client's (and kafkajs's) key → partition mapping, `murmur2(key) & 0x7fffffff` (the producer
 * takes it modulo the partition count), in time linear in the key's length.
 */
export function compatiblePartitioner(_message: unknown, key: Buffer | undefined): number {
  return key ? murmur2(key) & 0x7fffffff : 0;
}
