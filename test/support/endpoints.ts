import { randomUUID } from 'node:crypto';
import { loadEnginesConfig, resolveEndpoints, type EngineEndpoints } from '@pullwatch/engines';

/** The engines the integration project's global setup brought up (passed on through the environment). */
export function testEndpoints(): EngineEndpoints {
  return resolveEndpoints(loadEnginesConfig());
}

/** A name no other test (or earlier run against the same engines) uses: topics, groups, databases. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
}
