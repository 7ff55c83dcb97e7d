import type { Cause } from '@pullwatch/classifier';

/**
 * The causes the queries and alert signals name, checked against the classifier's taxonomy: a cause
 * renamed or removed there fails the type check here. They travel as query parameters.
 */
export const RATE_LIMITED = 'rate_limited' as const satisfies Cause;
