#!/usr/bin/env node
// The `shepherd` CLI. It runs the TypeScript sources through tsx's loader, as `npm run worker`
// and `npm run api` do, so the installed command and the repository never disagree.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
