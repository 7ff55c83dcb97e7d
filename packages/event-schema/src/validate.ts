import type { z } from 'zod';
import { checkEnvelope, checkK8sEvent } from './checks.generated.ts';
import { EnvelopeSchema, type Envelope } from './envelope.ts';
import { type K8sEvent, K8sEventSchema } from './k8s-event.ts';

/**
 * A zod schema's check on the hot paths (the collector's every Event, the analyzer's every message), as
 * plain JavaScript that ajv generated from the schema's own JSON Schema (z.toJSONSchema): zod stays the
 * one definition and the authority on anything the check refuses. The code is generated ahead of time
 * (checks.generated.ts, `npm run generate:checks -w @pullwatch/event-schema`), so no service loads ajv or
 * compiles at run time (compiling cost 40–120 ms and ≈ 10 MiB of resident memory per service).
 *
 * A value the check accepts is returned as it is, in ≈ 0.1 µs instead of zod's 1–7 µs per Event (bench:
 * collector-steps, analyzer-steps); one it refuses goes to zod, whose error is the one reported, and whose
 * verdict stands if the two ever disagree. validate.test.ts proves they agree on thousands of seeded
 * variants, and that the generated code is what the schemas give now.
 *
 * Unlike zod, a value accepted here keeps the keys its schema does not name (zod strips them from the
 * envelope's own objects): nothing reads them, and the raw row stores the message as received anyway.
 */
export type SafeParse<T> = { success: true; data: T } | { success: false; error: z.ZodError };

/** `schema.safeParse`, with `check` (generated from the same schema) first. */
function checkedSafeParse<T>(schema: z.ZodType<T>, check: (value: unknown) => boolean) {
  return (value: unknown): SafeParse<T> => {
    if (check(value)) return { success: true, data: value as T };
    const r = schema.safeParse(value);
    return r.success ? { success: true, data: r.data } : { success: false, error: r.error };
  };
}

/** EnvelopeSchema.safeParse, checked by generated code first (the analyzer's check of every message). */
export const safeParseEnvelope: (value: unknown) => SafeParse<Envelope> = checkedSafeParse(
  EnvelopeSchema,
  checkEnvelope,
);

/** K8sEventSchema.safeParse, checked by generated code first (the collector's check of every Event). */
export const safeParseK8sEvent: (value: unknown) => SafeParse<K8sEvent> = checkedSafeParse(
  K8sEventSchema,
  checkK8sEvent,
);
