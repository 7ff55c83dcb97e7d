export { loadQueryApiConfig, type QueryApiConfig } from './config.ts';
export { createQueryApi, type QueryApi, type QueryApiDeps } from './query-api.ts';
