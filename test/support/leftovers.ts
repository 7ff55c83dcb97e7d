import { createClickHouse } from '@pullwatch/clickhouse';
import type { EngineEndpoints } from '@pullwatch/engines';
import { deleteTopics, listTopics } from '@pullwatch/kafka';
import { createLogger } from '@pullwatch/telemetry';

/** What a test run's names carry after their prefix (test/support/endpoints.ts, uniqueName). */
export const runNamePattern = (run: string): RegExp => new RegExp(`_${run}[0-9a-f]{8}(?:_|$)`);

/**
 * Deletes the topics and ClickHouse databases a test run made (names from uniqueName with this run's
 * token): without it every run left its topics behind, and after a few dozen runs (34 GB, 5,257
 * partition folders) the local broker no longer started within `engines up`'s 90 s.
 */
export async function removeRunLeftovers(
  run: string,
  e: EngineEndpoints,
): Promise<{ topics: number; databases: number }> {
  const mine = runNamePattern(run);
  const conn = {
    brokers: e.kafka.brokers,
    clientId: 'test-cleanup',
    logger: createLogger('test-cleanup', 'silent'),
    ...(e.kafka.security ? { security: e.kafka.security } : {}),
  };
  const topics = await deleteTopics(
    conn,
    (await listTopics(conn)).filter((t) => mine.test(t)),
  );
  const ch = createClickHouse(e.clickhouse);
  try {
    const rows = await (await ch.query({ query: 'SELECT name FROM system.databases', format: 'JSONEachRow' })).json<{
      name: string;
    }>();
    const databases = rows.map((r) => r.name).filter((n) => mine.test(n));
    for (const name of databases) await ch.command({ query: `DROP DATABASE IF EXISTS \`${name}\` SYNC` });
    return { topics: topics.length, databases: databases.length };
  } finally {
    await ch.close();
  }
}
