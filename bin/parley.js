#!/usr/bin/env node
// Runs Parley's TypeScript sources directly (tsx), so `npm start` and `npx parley` need no build step.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
