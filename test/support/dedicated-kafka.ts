import { mkdirSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalKafka, type LocalKafkaExtras, loadEnginesConfig, repoRoot } from '@pullwatch/engines';

/**
 * A Kafka broker of the test's own (real, from the same jars), on its own ports and data folder, so a
 * test can stop and restart it without disturbing the shared one other tests use.
 */
export function dedicatedKafka(
  port: number,
  controllerPort = port + 1,
  extras: LocalKafkaExtras = {},
): { kafka: LocalKafka; brokers: string[]; home: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), 'pw-kafka-'));
  const shared = join(loadEnginesConfig({ ...process.env, PULLWATCH_ENGINES: 'local' }).home, 'kafka', 'libs');
  const sharedHome = existsSync(shared) ? shared : join(repoRoot, '.pullwatch', 'kafka', 'libs');
  if (existsSync(sharedHome)) {
    mkdirSync(join(home, 'kafka'), { recursive: true });
    // Reuse the jars already fetched (their pom stamp included), instead of asking Maven again.
    symlinkSync(sharedHome, join(home, 'kafka', 'libs'));
  }
  const cfg = loadEnginesConfig({
    ...process.env,
    PULLWATCH_ENGINES: 'local',
    PULLWATCH_HOME: home,
    PULLWATCH_KAFKA_PORT: String(port),
    PULLWATCH_KAFKA_CONTROLLER_PORT: String(controllerPort),
    PULLWATCH_KAFKA_HEAP: '384m',
  });
  const kafka = new LocalKafka(cfg, undefined, extras);
  return { kafka, brokers: kafka.brokers, home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}
