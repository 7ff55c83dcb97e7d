import type { EnginesConfig } from './config.ts';
import { LocalClickHouse } from './local-clickhouse.ts';
import { LocalKafka } from './local-kafka.ts';
import type { EngineEndpoints, EnginesStatus, Progress } from './types.ts';

export interface UpReport {
  kafka: { reused: boolean; readyMs: number };
  clickhouse: { reused: boolean; readyMs: number };
}

/** Both embedded engines, managed together; each can also be stopped alone (reliability tests). */
export class LocalEngines {
  readonly kafka: LocalKafka;
  readonly clickhouse: LocalClickHouse;

  constructor(private readonly cfg: EnginesConfig) {
    this.kafka = new LocalKafka(cfg);
    this.clickhouse = new LocalClickHouse(cfg);
  }

  endpoints(): EngineEndpoints {
    return {
      kafka: { brokers: this.kafka.brokers },
      clickhouse: { url: this.clickhouse.url, user: this.cfg.clickhouse.user, password: this.cfg.clickhouse.password },
    };
  }

  /** Starts what is not running, reuses what is; both start at once. */
  async up(progress: Progress): Promise<UpReport> {
    const [kafka, clickhouse] = await Promise.allSettled([this.kafka.up(progress), this.clickhouse.up(progress)]);
    if (kafka.status === 'rejected' || clickhouse.status === 'rejected') {
      const errors = [kafka, clickhouse].flatMap((r) =>
        r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [],
      );
      throw new Error(errors.join('\n\n'));
    }
    return { kafka: kafka.value, clickhouse: clickhouse.value };
  }

  async down(): Promise<{ kafka: boolean; clickhouse: boolean }> {
    const [kafka, clickhouse] = await Promise.all([this.kafka.down(), this.clickhouse.down()]);
    return { kafka, clickhouse };
  }

  /** Stops both and deletes their data (topics, offsets, databases); the jars and the launcher stay. */
  async reset(): Promise<{ kafka: boolean; clickhouse: boolean }> {
    const stopped = await this.down();
    this.kafka.reset();
    this.clickhouse.reset();
    return stopped;
  }

  async status(): Promise<EnginesStatus> {
    const [k, c] = await Promise.all([this.kafka.status(), this.clickhouse.status()]);
    return {
      mode: this.cfg.mode,
      kafka: { up: k.up, brokers: this.kafka.brokers, pid: k.pid, rssBytes: k.rssBytes },
      clickhouse: { up: c.up, url: this.clickhouse.url, pid: c.pid, rssBytes: c.rssBytes },
    };
  }
}
