/** nuage-sandbox up|down|status [--state DIR] …: what `bin/nuage-libnetwork sandbox …` runs. */
import { sandboxMain } from "./cli.js";

sandboxMain(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`nuage-libnetwork sandbox: ${err.message}\n`);
    process.exit(1);
  },
);
