export declare const MIN_NODE: [number, number];
export interface Missing {
  tool: string;
  why: string;
  fix: string;
}
export interface Probe {
  env: Record<string, string | undefined>;
  nodeVersion: string;
  home: string;
  runs: (cmd: string, args: string[]) => { ok: boolean; output: string };
  exists: (path: string) => boolean;
}
export declare function missingPrerequisites(probe: Probe): Missing[];
export declare function prerequisitesMessage(missing: Missing[]): string | null;
export declare const HELM_VERSION: string;
export declare function hasHelm(probe: Pick<Probe, 'home' | 'runs' | 'exists'>): boolean;
