/** The bucket widths /v1/trends offers, in seconds. */
export const INTERVAL_SECONDS = { '1m': 60, '5m': 300, '1h': 3600, '1d': 86400 } as const;

/** Where a trend's first bucket starts (epoch ms): its reads begin there, before `from`. */
export const bucketStart = (from: Date, interval: keyof typeof INTERVAL_SECONDS) =>
  Math.floor(from.getTime() / 1000 / INTERVAL_SECONDS[interval]) * INTERVAL_SECONDS[interval] * 1000;
