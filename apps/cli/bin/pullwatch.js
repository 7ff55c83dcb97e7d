#!/usr/bin/env node
// The `pullwatch` command. Sources are TypeScript run through tsx, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
process.exitCode = await main(process.argv.slice(2));
// Everything has been stopped and flushed by now; a client library's idle socket or timer must not
// keep the command alive.
setTimeout(() => process.exit(), 2000).unref();
