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
  clickhouse: {
    url: string;
    user: string;
    password: string;
    caCert?: Buffer;
    /** On a sharded cluster: its name (`remote_servers`) and every shard's URL, the first being `url`. */
    cluster?: string;
    shards?: string[];
  };
}

export interface KafkaNodeStatus {
  id: number;
  address: string;
  pid: number | null;
  up: boolean;
  rssBytes?: number | null;
}

export interface ClickHouseNodeStatus {
  shard: number;
  url: string;
  tcpPort?: number;
  pid: number | null;
  up: boolean;
  rssBytes?: number | null;
}

/** The `engines status --json` contract. */
export interface EnginesStatus {
  mode: string;
  /** Only on the cluster topology (the single-node JSON keeps its fields). */
  topology?: 'cluster';
  kafka: { up: boolean; brokers: string[]; pid?: number | null; rssBytes?: number | null; nodes?: KafkaNodeStatus[] };
  clickhouse: {
    up: boolean;
    url: string;
    pid?: number | null;
    rssBytes?: number | null;
    cluster?: string;
    nodes?: ClickHouseNodeStatus[];
  };
}
