import { Ajv2020 } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { EnvelopeSchema, type Envelope } from './envelope.ts';
import { type K8sEvent, K8sEventSchema, K8S_EVENT_NEEDS_ONE_OF } from './k8s-event.ts';

/**
 * A zod schema's check on the hot paths (the collector's every Event, the analyzer's every message),
 * compiled once to plain JavaScript by ajv from the schema's own JSON Schema (z.toJSONSchema): zod
 * stays the one definition and the authority on anything it rejects. A value ajv accepts is returned
 * as it is, in ≈ 0.1 µs instead of zod's 1.4–7 µs per Event (bench: collector-steps, analyzer-steps);
 * one it rejects goes to zod, whose error is the one reported, and whose verdict stands if the two
 * ever disagree. validate.test.ts proves the two agree on thousands of seeded variants.
 *
 * Unlike zod, a value accepted here keeps the keys its schema does not name (zod strips them from the
 * envelope's own objects): nothing reads them, and the raw row stores the message as received anyway.
 */
export type SafeParse<T> = { success: true; data: T } | { success: false; error: z.ZodError };

/**
 * What a zod refinement checks, in JSON Schema, for the schemas that have one (refinements are code,
 * which z.toJSONSchema cannot carry).
 */
const REFINEMENTS = new Map<unknown, Record<string, unknown>>([
  [K8sEventSchema, { anyOf: K8S_EVENT_NEEDS_ONE_OF.map((key) => ({ required: [key] })) }],
]);

function compile(schema: z.ZodType): (value: unknown) => boolean {
  try {
    const json = z.toJSONSchema(schema, {
      io: 'input',
      unrepresentable: 'throw',
      override: ({ zodSchema, jsonSchema }) => {
        const extra = REFINEMENTS.get(zodSchema);
        if (extra) Object.assign(jsonSchema, extra);
      },
    });
    // strictRequired: off for the refinements' anyOf, whose required keys the object's own properties define.
    return new Ajv2020({ strict: true, strictRequired: false, allErrors: false }).compile(json);
  } catch {
    // A schema JSON Schema cannot express (validate.test.ts fails on it first): zod checks everything.
    return () => false;
  }
}

/** `schema.safeParse`, with the compiled check first; `prepare()` compiles it now instead of on first use. */
export interface CompiledSafeParse<T> {
  (value: unknown): SafeParse<T>;
  prepare(): void;
}

export function compiledSafeParse<T>(schema: z.ZodType<T>): CompiledSafeParse<T> {
  let check: ((value: unknown) => boolean) | null = null;
  const parse = (value: unknown): SafeParse<T> => {
    check ??= compile(schema);
    if (check(value)) return { success: true, data: value as T };
    const r = schema.safeParse(value);
    return r.success ? { success: true, data: r.data } : { success: false, error: r.error };
  };
  return Object.assign(parse, {
    prepare: () => {
      check ??= compile(schema);
    },
  });
}

/** EnvelopeSchema.safeParse, compiled (the analyzer's check of every message). */
export const safeParseEnvelope: CompiledSafeParse<Envelope> = compiledSafeParse(EnvelopeSchema);

/** K8sEventSchema.safeParse, compiled (the collector's check of every Event). */
export const safeParseK8sEvent: CompiledSafeParse<K8sEvent> = compiledSafeParse(K8sEventSchema);
