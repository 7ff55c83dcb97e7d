import { randomUUID } from 'node:crypto';
import { loadEnginesConfig, resolveEndpoints, type EngineEndpoints } from '@pullwatch/engines';

/** The engines the integration project's global setup brought up (passed on through the environment). */
export function testEndpoints(): EngineEndpoints {
  return resolveEndpoints(loadEnginesConfig());
}

/** Four hex digits naming this test run (set by the global setup), or a random one outside a run. */
const run = process.env.PULLWATCH_TEST_RUN ?? randomUUID().slice(0, 4);

/**
 * A name no other test (or earlier run against the same engines) uses: topics, groups, databases. It
 * carries the run's token, so the run removes what it made when it ends (test/support/leftovers.ts).
 */
export function uniqueName(prefix: string): string {
  return `${prefix}_${run}${randomUUID().replaceAll('-', '').slice(0, 8)}`;
}
