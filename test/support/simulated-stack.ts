import { expect } from 'vitest';
import { createClickHouse } from '@pullwatch/clickhouse';
import { type RunningStack, runStack } from 'pullwatch';
import { testEndpoints, uniqueName } from './endpoints.ts';

/** `npm start`'s main job on its simulated fleet, on a topic and database of its own, with an API token. */
export interface SimulatedStack {
  stack: RunningStack;
  database: string;
  /** GET on the query API with the token; asserts 200 and returns the JSON body. */
  api<T>(path: string): Promise<T>;
  /** Stops the stack and drops its database. */
  stop(): Promise<void>;
}

export async function simulatedStack(name: string, token: string, env: Record<string, string> = {}) {
  const database = uniqueName(name);
  const topic = uniqueName(name);
  const stack = await runStack({
    simulate: true,
    kubeconfig: null,
    contexts: [],
    scenario: null,
    allEvents: false,
    out: () => undefined,
    err: (l) => process.stderr.write(`[stack] ${l}\n`),
    summaryEverySeconds: 0,
    env: {
      ...process.env,
      PULLWATCH_API_PORT: '0',
      PULLWATCH_INGEST_PORT: '0',
      PULLWATCH_API_TOKENS: token,
      PULLWATCH_CLICKHOUSE_DATABASE: database,
      PULLWATCH_TOPIC: topic,
      PULLWATCH_DLQ_TOPIC: `${topic}_dlq`,
      PULLWATCH_ANALYZER_GROUP: `${topic}_g`,
      PULLWATCH_INCIDENT_INTERVAL_SECONDS: '2',
      ...env,
    },
  });
  const s: SimulatedStack = {
    stack,
    database,
    async api<T>(path: string): Promise<T> {
      const res = await fetch(`${stack.apiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status, path).toBe(200);
      return (await res.json()) as T;
    },
    async stop() {
      await stack.stop();
      const admin = createClickHouse({ ...testEndpoints().clickhouse });
      await admin.command({ query: `DROP DATABASE IF EXISTS ${database}` });
      await admin.close();
    },
  };
  return s;
}
