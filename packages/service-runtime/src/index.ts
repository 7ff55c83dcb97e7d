export { serviceEnv, serviceNodeFlags } from './runtime-tuning.ts';
