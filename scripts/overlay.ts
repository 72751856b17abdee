// The overlay command run from source, no build needed: node --import tsx scripts/overlay.ts start ...
// (bin/overlay.js runs the same main() from dist/.) Used by npm run demo, the soak and the tests.
import { main } from '../src/cli/main.js'

// Started with an IPC channel by a parent that watches it (the demo, the soak): when that
// parent goes away, killed or crashed, so does this node, rather than live on unwatched.
if (process.connected) process.on('disconnect', () => process.exit(1))

process.exitCode = await main(process.argv.slice(2))
