/**
 * How a pipeline service process is started (by `pullwatch start`, and by the bench): Node flags and
 * environment defaults sized for what these services do, not for the machine. Figures: the bench's main
 * pipeline, 200 000 events on two cores, built services, runs back to back (docs/deploy.md, section 8).
 *
 * Young generation. V8 sizes it from the machine: with memory to spare each of its two semi-spaces
 * grows to 16 MiB. The collector and the analyzer allocate fast (≈ 15 KB per event) and keep little
 * (what waits for Kafka or ClickHouse, the analyzer's state), so 4 MiB semi-spaces do as well: peak RSS
 * 244 → 217 MiB (collector) and ≈ 340 → 320 MiB (analyzer) for ≈ +1 and +2.5 µs of CPU per event. The
 * Helm chart's heap caps give about the same: V8 derives 3 MiB (collector, `--max-old-space-size=384`)
 * and 4.5 MiB (analyzer, 576) semi-spaces from them.
 *
 * No cap on the old generation here: it also lowers V8's heap growing factor, measured at +20–25 % CPU
 * per event for both services. In a container it is what keeps the heap under the memory limit, so the
 * chart sets it (`nodeOptions`).
 *
 * Not used: `--single-threaded-gc` (no GC helper threads, which compete with the other processes for two
 * cores): two alternating pairs of runs gave 124 and 129 µs of CPU per event for all processes against
 * 119 and 127 without it, and a collector peak RSS of 466–486 against 296–302 MiB.
 *
 * glibc's mmap threshold (analyzer). glibc raises it, up to 32 MiB, each time a large block is freed, so
 * the analyzer's fetch buffers and encoded inserts soon come from the process heap, which returns
 * nothing to the system once fragmented: measured 95–109 MiB of it still resident after the run. With
 * the threshold fixed at 64 KiB they are mapped and unmapped: peak RSS ≈ 20 MiB lower, ≈ 80 MiB lower
 * once a burst is over, CPU per event unchanged within the noise. (The collector showed no difference.)
 */
const NODE_FLAGS: Record<string, readonly string[]> = {
  collector: ['--max-semi-space-size=4'],
  analyzer: ['--max-semi-space-size=4'],
};

const ENV_DEFAULTS: Record<string, Readonly<Record<string, string>>> = {
  analyzer: { MALLOC_MMAP_THRESHOLD_: '65536' },
};

/** Heap sizes a user's NODE_OPTIONS may already set: then theirs stand, and none of ours is added. */
const HEAP_FLAGS = /--max-(semi|old)-space-size|--max-heap-size/;

/** The flags to start `service` with, given the NODE_OPTIONS its process will have. */
export function serviceNodeFlags(service: string, nodeOptions: string | undefined): string[] {
  if (nodeOptions && HEAP_FLAGS.test(nodeOptions)) return [];
  return [...(NODE_FLAGS[service] ?? [])];
}

/** The environment to start `service` with: `env`, plus the defaults it does not set itself. */
export function serviceEnv(service: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...ENV_DEFAULTS[service], ...env };
}
