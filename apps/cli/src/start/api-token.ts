import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadEnginesConfig } from '@pullwatch/engines';

/** The first token of a token file (one a line, as the query API's PULLWATCH_API_TOKENS_FILE). */
const firstToken = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .find(Boolean) ?? '';

/**
 * A token kept in `file` (mode 0600): created on first use, then the same one on later runs. A file an
 * operator extended with more tokens, one a line, is kept as it is; the first token is the one used.
 */
function ensureToken(file: string, prefix: string): { token: string; created: boolean } {
  if (existsSync(file)) {
    const token = firstToken(readFileSync(file, 'utf8'));
    if (token) {
      chmodSync(file, 0o600);
      return { token, created: false };
    }
  }
  mkdirSync(dirname(file), { recursive: true });
  const token = `${prefix}${randomBytes(24).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, created: true };
}

/** The API token `npm start` prints: created on first run, then kept (mode 0600) for later runs. */
export const ensureApiToken = (file: string) => ensureToken(file, 'pw_');

/**
 * The ingest token `npm start` gives its collector (allowed for every cluster) and prints: created on
 * first run in `.pullwatch/ingest-token` (mode 0600), then kept. `pullwatch replay` and `simulate` read it.
 */
export const ensureIngestToken = (file: string) => ensureToken(file, 'pwi_');

// Only the state folder is needed: replay and simulate talk to a collector, not to Kafka or ClickHouse.
export const ingestTokenFile = (env: NodeJS.ProcessEnv) =>
  join(loadEnginesConfig(env, { kafka: false, clickhouse: false }).home, 'ingest-token');

/**
 * The ingest token a client command sends: `--token`, else PULLWATCH_INGEST_TOKEN, else the one
 * `npm start` keeps in `.pullwatch/ingest-token` (under PULLWATCH_HOME); none when there is none (a
 * collector with PULLWATCH_INGEST_AUTH=none needs none, any other answers 401 with what is missing).
 */
export function clientIngestToken(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag?.trim()) return flag.trim();
  if (env.PULLWATCH_INGEST_TOKEN?.trim()) return env.PULLWATCH_INGEST_TOKEN.trim();
  const file = ingestTokenFile(env);
  if (!existsSync(file)) return undefined;
  return firstToken(readFileSync(file, 'utf8')) || undefined;
}
