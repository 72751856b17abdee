// The overlay command run from source, no build needed: node --import tsx scripts/overlay.ts start ...
// (bin/overlay.js runs the same main() from dist/.)
import { main } from '../src/cli/main.js'

process.exitCode = await main(process.argv.slice(2))
