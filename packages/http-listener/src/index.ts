export { startListener, type Listener } from './listener.ts';
export { bearerTokens } from './bearer.ts';
