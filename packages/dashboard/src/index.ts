import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The dashboard's static files; the query API serves them at `/`. */
export const dashboardDir = join(dirname(fileURLToPath(import.meta.url)), '../public');
