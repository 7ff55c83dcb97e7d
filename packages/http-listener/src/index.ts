export { startListener, type Listener } from './listener.ts';
