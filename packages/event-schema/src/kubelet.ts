/**
 * kubelet's image pull back-off (pkg/kubelet/images: flowcontrol.NewBackOff(10 s, 300 s) on the pull
 * worker, seen from the Events as 5 s doubling per failure): the stage after `failures` failed pulls
 * (0 after the first) and its wait in seconds, capped at 300 s from stage 6 on. The simulator waits
 * it; the analyzer follows each Pod through it.
 */
export function kubeletBackoff(failures: number): { stage: number; seconds: number } {
  const stage = Math.max(0, Math.min(6, failures - 1));
  return { stage, seconds: Math.min(300, 5 * 2 ** stage) };
}
