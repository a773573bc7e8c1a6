/**
 * nuage-libnetwork [-f FILE] [-audit]      serve Docker's NetworkDriver protocol
 * (`bin/nuage-libnetwork sandbox …` runs the sandbox package instead: the plugin never imports it.)
 */
import { loadConfig, defaultConfigPath } from "./config/config.js";
import { createLogger } from "./log/logger.js";
import { audit, startPlugin } from "./app.js";

const USAGE = `usage:
  nuage-libnetwork [-f FILE] [-audit]       run the plugin (config: nuage.cfg beside the executable unless -f)
  nuage-libnetwork sandbox up|down|status [--state DIR] ...
`;

async function main(argv: string[]): Promise<number> {
  let file = defaultConfigPath();
  let explicitFile = false;
  let auditOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "-f" || a === "--config") {
      const v = argv[++i];
      if (!v) { process.stderr.write(`-f needs a file\n${USAGE}`); return 2; }
      file = v;
      explicitFile = true;
    } else if (a === "-audit" || a === "--audit") auditOnly = true;
    else if (a === "-h" || a === "--help") { process.stdout.write(USAGE); return 0; }
    else { process.stderr.write(`unknown argument ${a}\n${USAGE}`); return 2; }
  }
  // Without -f, a missing nuage.cfg beside the executable means the documented defaults.
  const cfg = await loadConfig(file, { missingOk: !explicitFile });
  const logger = createLogger(cfg.LogLevel);
  if (auditOnly) {
    const report = await audit(cfg, logger);
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    return 0;
  }
  const plugin = await startPlugin(cfg, logger);
  await new Promise<void>((resolve) => {
    const stop = (sig: string): void => {
      logger.info({ signal: sig }, "stopping");
      void plugin.close().finally(resolve);
    };
    process.once("SIGTERM", () => stop("SIGTERM"));
    process.once("SIGINT", () => stop("SIGINT"));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`nuage-libnetwork: ${err.message}\n`);
    process.exit(1);
  },
);
