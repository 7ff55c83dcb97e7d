/**
 * The Node flags a pipeline service process is started with (by `pullwatch start`, and by the bench).
 *
 * V8 sizes the young generation from the machine: with memory to spare it lets each of its two
 * semi-spaces grow to 16 MiB. The collector and the analyzer allocate fast (≈ 15 KB per event) and keep
 * little (what waits for Kafka or ClickHouse, the analyzer's state), so 4 MiB semi-spaces do as well:
 * measured at 200 000 events on two cores, peak RSS 244 → 217 MiB (collector) and ≈ 333 → 298 MiB
 * (analyzer), for ≈ +1 µs (collector) and ≈ +2.5 µs (analyzer) of CPU per event (docs/deploy.md,
 * section 8). The Helm chart's heap caps give about the same young generation: V8 derives 3 MiB
 * (collector, `--max-old-space-size=384`) and 4.5 MiB (analyzer, 576) semi-spaces from them.
 *
 * A cap on the old generation is not set here: it also lowers V8's heap growing factor, measured at
 * +20–25 % CPU per event for both services; in a container it is what keeps the heap under the memory
 * limit, so the chart sets it (`nodeOptions`).
 */
const SERVICE_FLAGS: Record<string, readonly string[]> = {
  collector: ['--max-semi-space-size=4'],
  analyzer: ['--max-semi-space-size=4'],
};

/** Heap sizes a user's NODE_OPTIONS may already set: then theirs stand, and none of ours is added. */
const HEAP_FLAGS = /--max-(semi|old)-space-size|--max-heap-size/;

/** The flags to start `service` with, given the NODE_OPTIONS its process will have. */
export function serviceNodeFlags(service: string, nodeOptions: string | undefined): string[] {
  if (nodeOptions && HEAP_FLAGS.test(nodeOptions)) return [];
  return [...(SERVICE_FLAGS[service] ?? [])];
}
