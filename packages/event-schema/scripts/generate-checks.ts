// Writes src/checks.generated.ts from the zod schemas: run after changing EnvelopeSchema or K8sEventSchema.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checksSource } from '../src/checks-source.ts';

const out = fileURLToPath(new URL('../src/checks.generated.ts', import.meta.url));
writeFileSync(out, checksSource());
console.log(`wrote ${out}`);
