import type { KafkaSecurity } from '@pullwatch/kafka';

export type Progress = (line: string) => void;

export interface EngineState {
  up: boolean;
  pid: number | null;
  rssBytes: number | null;
}

/** Where the engines answer; what services and tools connect to. */
export interface EngineEndpoints {
  kafka: { brokers: string[]; security?: KafkaSecurity };
  clickhouse: { url: string; user: string; password: string; caCert?: Buffer };
}

/** The `engines status --json` contract. */
export interface EnginesStatus {
  mode: string;
  kafka: { up: boolean; brokers: string[]; pid?: number | null; rssBytes?: number | null };
  clickhouse: { up: boolean; url: string; pid?: number | null; rssBytes?: number | null };
}
