/** One measured figure, always reported beside the baseline measured in the same run. */
export interface BenchFigure {
  metric: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** value / baseline.value */
  ratio?: number;
  target?: string;
}

export interface BenchSection {
  name: string;
  figures: BenchFigure[];
  notes?: string[];
}

export interface BenchContext {
  /** Scale flags from the command line (`--events`, `--clusters`, `--rows`). */
  scale: { events: number; clusters: number; rows: number };
  log: (line: string) => void;
  /** The sections measured earlier in the same run, for figures that compare across suites. */
  previous?: BenchSection[];
}
