export declare const KUBERNETES_VERSION: string;
export declare const ETCD_VERSION: string;
export interface KubeBinaries {
  kubeApiserver: string;
  etcd: string;
}
export declare function kubeBinaryPaths(): KubeBinaries;
export declare function kubeBinariesCached(): boolean;
export declare function ensureKubeBinaries(): KubeBinaries;
