#!/usr/bin/env node
// The `overlay` command. All logic lives in src/cli/main.ts (compiled to dist/), so tests drive it without spawning.
import { main } from '../dist/cli/main.js'

process.exitCode = await main(process.argv.slice(2))
