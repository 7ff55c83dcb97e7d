export { main } from './main.ts';
export { type RunningStack, runStack, type StackOptions } from './start/run-stack.ts';
export { notifyReady, type ServiceProcess, ServiceExitedError, startServiceProcess } from './start/service-process.ts';
