import { describe, expect, it } from 'vitest';
import { missingPrerequisites, type Probe, prerequisitesMessage } from '../scripts/prereqs.mjs';

/** A machine that has exactly the commands and files named. */
function machine(over: {
  commands?: Record<string, string>;
  files?: string[];
  env?: Probe['env'];
  node?: string;
}): Probe {
  const commands = over.commands ?? {};
  const files = new Set(over.files ?? []);
  return {
    env: over.env ?? {},
    nodeVersion: over.node ?? 'v24.22.3',
    home: '/h',
    runs: (cmd) => (cmd in commands ? { ok: true, output: commands[cmd]! } : { ok: false, output: '' }),
    exists: (p) => files.has(p),
  };
}

const everything = {
  commands: { java: 'openjdk version "17.0.15" 2025-04-15', mvn: 'Apache Maven 3.8.7', gcc: 'gcc 12', go: 'go1.26' },
  files: ['/usr/bin/chromium'],
};

describe('npm test prerequisites', () => {
  it('finds nothing missing on a complete machine, and says nothing', () => {
    expect(missingPrerequisites(machine(everything))).toEqual([]);
    expect(prerequisitesMessage([])).toBeNull();
  });

  it('names every missing tool in one message with how to get it', () => {
    const missing = missingPrerequisites(machine({}));
    expect(missing.map((m) => m.tool)).toEqual([
      'Java 17 or newer',
      'Maven',
      'gcc',
      'Go',
      'Chromium (/usr/bin/chromium)',
    ]);
    const text = prerequisitesMessage(missing)!;
    expect(text.split('\n')[0]).toBe('npm test needs 5 more tools on this machine:');
    expect(text).toContain('apt-get install golang');
    expect(text).toContain('apt-get install openjdk-17-jre-headless');
    expect(text).toContain('apt-get install maven');
    expect(text).toContain('apt-get install gcc libc6-dev');
    expect(text).toContain('apt-get install chromium');
  });

  it('does not ask for Maven or gcc once the jars and the launcher exist', () => {
    const m = machine({
      commands: { java: 'openjdk version "21" 2023-09-19' },
      files: [
        '/usr/bin/chromium',
        '/h/kafka/libs/.pom-sha256',
        '/h/bin/chdb-launcher',
        '/h/bin/helm',
        '/h/bin/rulecheck',
      ],
    });
    expect(missingPrerequisites(m)).toEqual([]);
  });

  it('refuses a Java older than 17 and a Node older than 22.22', () => {
    const m = machine({
      ...everything,
      commands: { ...everything.commands, java: 'java version "11.0.2"' },
      node: 'v20.11.0',
    });
    expect(missingPrerequisites(m).map((x) => x.tool)).toEqual([
      'Node 22.22 or newer (found v20.11.0)',
      'Java 17 or newer (found 11)',
    ]);
  });

  it('needs no engine tools with external engines, only the browser', () => {
    const m = machine({
      env: { PULLWATCH_ENGINES: 'external' },
      commands: { helm: 'v3.22.0' },
      files: ['/h/bin/rulecheck'],
    });
    expect(missingPrerequisites(m).map((x) => x.tool)).toEqual(['Chromium (/usr/bin/chromium)']);
  });
});
