/**
 * nuage-libnetwork [-f FILE] [-audit]      serve Docker's NetworkDriver protocol
 * nuage-libnetwork doctor [-f FILE] [--json] what is wrong, part by part (read-only)
 * nuage-libnetwork config convert FILE.yaml   Nuage's Go plugin's config file as nuage.cfg
 * (`bin/nuage-libnetwork sandbox …` runs the sandbox package instead: the plugin never imports it.)
 */
import { isNlnYamlPath, loadConfig } from "./config/config.js";
import { parseCommandLine } from "./cli-args.js";
import { createLogger, logStreamsFromEnv } from "./log/logger.js";
import { audit, startPlugin } from "./app.js";

const USAGE = `usage:
  nuage-libnetwork [-f FILE] [-audit]       run the plugin (config: nuage.cfg beside the executable unless -f)
  nuage-libnetwork sandbox up|down|status [--state DIR] ...
  nuage-libnetwork doctor [-f FILE] [--json]  check config, Docker, OVSDB/VRS, VSD and each endpoint (read-only)
  nuage-libnetwork config convert FILE.yaml [--password-file PATH]
                                            print nuage.cfg for nuage-libnetwork's (Go) YAML config file
FILE may be nuage-libnetwork's (Go) YAML file as it is (-config FILE works too).
`;

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "doctor") {
    const { doctorMain } = await import("./ops/doctor-cli.js");
    return doctorMain(argv.slice(1));
  }
  if (argv[0] === "config") {
    const { configMain } = await import("./config/convert-cli.js");
    return configMain(argv.slice(1));
  }
  const line = parseCommandLine(argv, USAGE, { "-audit": "audit", "--audit": "audit" });
  if (typeof line === "number") return line;
  const { file, explicitFile } = line;
  const auditOnly = line.flags.has("audit");
  // Without -f, a missing nuage.cfg beside the executable means the documented defaults.
  // Config keys in the environment win over the file (a managed plugin gets them from `docker plugin set`).
  const warnings: string[] = [];
  const cfg = await loadConfig(file, { missingOk: !explicitFile, env: process.env, warn: (m) => warnings.push(m) });
  const logger = createLogger(cfg.LogLevel, { format: cfg.LogFormat, streams: logStreamsFromEnv(process.env) });
  for (const w of warnings) logger.warn({ config: file }, w);
  // Nuage's Go plugin never checked the VSD's certificate: its file rarely says how to.
  const vsdTlsAdvice = isNlnYamlPath(file)
    ? `nuage-libnetwork (Go) did not check the VSD's certificate, this plugin does: add "VsdCaFile: /path/to/vsd-ca.pem" ` +
      `or "VsdInsecure: true" to ${file}, or set VsdCaFile or VsdInsecure in the environment`
    : undefined;
  if (auditOnly) {
    const report = await audit(cfg, logger);
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
    return 0;
  }
  const plugin = await startPlugin(cfg, logger, { vsdTlsAdvice });
  const why = await new Promise<string>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
    void plugin.failed.then((err) => resolve(err.message));
  });
  logger.info({ reason: why }, "stopping");
  try {
    await plugin.close();
  } catch (err) {
    logger.error({ err }, "stopping: not everything closed cleanly");
    return 1;
  }
  return why.startsWith("SIG") ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`nuage-libnetwork: ${err.message}\n`);
    process.exit(1);
  },
);
