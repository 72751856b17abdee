// The overlay command run from source (no build needed): what bin/overlay.js does with dist/.
import { main } from '../../src/cli/main.js'

process.exitCode = await main(process.argv.slice(2))
