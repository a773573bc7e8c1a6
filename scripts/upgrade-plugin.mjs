#!/usr/bin/env node
// Upgrades the managed plugin offline from a folder built by scripts/build-plugin.sh, keeping
// every `docker plugin set` value. `docker plugin upgrade` takes a registry reference only, so
// this does what works without one: disable, rm, create from DIR, set again, enable.
//   scripts/upgrade-plugin.sh [--name nuage:latest] [--docker CLI] DIR
// It refuses, changing nothing, while containers on this host are attached to a network of the
// plugin (its driver or its IPAM): Docker cannot remove a plugin in use, and a plugin removed
// under running containers would leave their endpoints without a driver. Stopped containers do
// not hold it: they start again on the new version (their networks and the plugin's StateDir
// records are kept). Only the docker CLI is run, always with an argument array (no shell).
// The settings are written to a 0600 file first (removed on success), so a failure after `rm`
// loses nothing.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const USAGE = "usage: scripts/upgrade-plugin.sh [--name nuage:latest] [--docker CLI] DIR";

function parseArgs(argv) {
  const o = { name: "nuage:latest", docker: "docker", dir: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--name" || a === "--docker") {
      const v = argv[++i];
      if (!v) throw new UsageError(`${a} needs a value`);
      o[a.slice(2)] = v;
    } else if (a === "-h" || a === "--help") throw new UsageError("");
    else if (a.startsWith("-")) throw new UsageError(`unknown option ${a}`);
    else if (o.dir === undefined) o.dir = resolve(a);
    else throw new UsageError(`one DIR only (got ${o.dir} and ${a})`);
  }
  if (o.dir === undefined) throw new UsageError("DIR is required (a folder from scripts/build-plugin.sh)");
  // Docker names a plugin created as "nuage" "nuage:latest"; the same name is used throughout.
  if (!o.name.includes(":")) o.name = `${o.name}:latest`;
  return o;
}

class UsageError extends Error {}

function docker(cli, args) {
  return new Promise((resolveRun) => {
    execFile(cli, args, { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolveRun({ code, stdout, stderr: stderr || (err?.message ?? "") });
    });
  });
}

async function dockerOk(cli, args) {
  const r = await docker(cli, args);
  if (r.code !== 0) throw new Error(`docker ${args[0]} ${args[1] ?? ""} failed: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** The new folder's config.json: which env entries and mount sources it lets `docker plugin set` change. */
function readNewConfig(dir) {
  const cfgFile = join(dir, "config.json");
  if (!existsSync(cfgFile)) throw new Error(`${cfgFile} is missing: DIR must be a folder from scripts/build-plugin.sh`);
  if (!existsSync(join(dir, "rootfs")) || !statSync(join(dir, "rootfs")).isDirectory())
    throw new Error(`${join(dir, "rootfs")} is missing: DIR must be a folder from scripts/build-plugin.sh`);
  let cfg;
  try {
    cfg = JSON.parse(readFileSync(cfgFile, "utf8"));
  } catch (e) {
    throw new Error(`${cfgFile} is not JSON: ${e.message}`);
  }
  const settable = (list, what) =>
    new Set((list ?? []).filter((x) => (x.settable ?? []).includes(what)).map((x) => x.name));
  return { env: settable(cfg.env, "value"), mounts: settable(cfg.mounts, "source") };
}

/** Containers on this host attached to a network whose driver or IPAM driver is the plugin. */
async function usersOf(cli, name) {
  const ids = (await dockerOk(cli, ["network", "ls", "-q", "--no-trunc"])).split("\n").filter(Boolean);
  if (ids.length === 0) return [];
  const nets = JSON.parse(await dockerOk(cli, ["network", "inspect", ...ids]));
  const users = [];
  for (const n of nets) {
    if (n.Driver !== name && n.IPAM?.Driver !== name) continue;
    for (const c of Object.values(n.Containers ?? {})) users.push({ container: c.Name, network: n.Name });
  }
  return users;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const fresh = readNewConfig(o.dir);
  const inspected = await docker(o.docker, ["plugin", "inspect", o.name]);
  if (inspected.code !== 0)
    throw new Error(`no plugin ${o.name} to upgrade (${inspected.stderr.trim()}); install it as docs/install.md says`);
  const [old] = JSON.parse(inspected.stdout);

  const users = await usersOf(o.docker, o.name);
  if (users.length > 0) {
    const list = users.map((u) => `${u.container} (network ${u.network})`).join(", ");
    const names = [...new Set(users.map((u) => u.container))].join(" ");
    throw new Error(
      `${o.name} is in use: ${users.length} container(s) attached: ${list}. Nothing was changed.\n` +
        `Drain this host first: stop them (docker stop ${names}; for swarm tasks, ` +
        "docker node update --availability drain NODE on a manager), run this again, then start them " +
        `(docker start ${names}; docker node update --availability active NODE). docs/operations.md, Upgrade.`,
    );
  }

  // Every value the old plugin has for an entry the new one lets us set: defaults included, so
  // nothing depends on which were changed by hand.
  const env = [];
  const dropped = [];
  for (const e of old.Settings?.Env ?? []) {
    const eq = e.indexOf("=");
    const key = eq < 0 ? e : e.slice(0, eq);
    if (fresh.env.has(key)) env.push(e);
    else if (old.Config?.Env?.some((c) => c.Name === key && (c.Settable ?? []).includes("value"))) dropped.push(key);
  }
  const mounts = [];
  for (const m of old.Settings?.Mounts ?? []) {
    if (m.Name && fresh.mounts.has(m.Name)) mounts.push(`${m.Name}.source=${m.Source}`);
    else if (m.Name) dropped.push(`${m.Name}.source`);
  }
  const sets = [...mounts, ...env];
  // Kept where only root reads it: values may include what an operator set (never printed).
  const keepDir = mkdtempSync(join(tmpdir(), "nuage-plugin-upgrade-"));
  const settingsFile = join(keepDir, "settings.json");
  writeFileSync(settingsFile, `${JSON.stringify({ name: o.name, enabled: old.Enabled, set: sets }, null, 2)}\n`, {
    mode: 0o600,
  });

  const step = async (what, args) => {
    process.stdout.write(`upgrade-plugin: ${what}\n`);
    await dockerOk(o.docker, args);
  };
  // -f: each network of the plugin holds a reference to it, so Docker calls it in use even with no
  // container attached; that no container is, was checked above.
  if (old.Enabled) await step(`docker plugin disable -f ${o.name}`, ["plugin", "disable", "-f", o.name]);
  try {
    await step(`docker plugin rm -f ${o.name}`, ["plugin", "rm", "-f", o.name]);
  } catch (err) {
    if (old.Enabled) await docker(o.docker, ["plugin", "enable", o.name]);
    throw new Error(`${err.message}\nThe old plugin is kept${old.Enabled ? " and enabled again" : ""}.`);
  }
  try {
    await step(`docker plugin create ${o.name} ${o.dir}`, ["plugin", "create", o.name, o.dir]);
    if (sets.length > 0)
      await step(`docker plugin set ${o.name} (${mounts.length} mount sources, ${env.length} env entries)`, [
        "plugin",
        "set",
        o.name,
        ...sets,
      ]);
    if (old.Enabled) await step(`docker plugin enable ${o.name}`, ["plugin", "enable", o.name]);
  } catch (err) {
    throw new Error(
      `${err.message}\nThe old plugin was removed; its settings are in ${settingsFile} (mode 0600): ` +
        `create it again (docker plugin create ${o.name} DIR), then docker plugin set ${o.name} with each entry of "set"` +
        `${old.Enabled ? ", then docker plugin enable" : ""}.`,
    );
  }
  rmSync(keepDir, { recursive: true, force: true });
  const [now] = JSON.parse(await dockerOk(o.docker, ["plugin", "inspect", o.name]));
  process.stdout.write(
    `upgrade-plugin: ${o.name} upgraded from ${o.dir} (id ${String(old.Id).slice(0, 12)} → ${String(now.Id).slice(0, 12)}), ` +
      `${now.Enabled ? "enabled" : "disabled"}; kept ${mounts.length} mount sources and ${env.length} env entries` +
      `${dropped.length > 0 ? `; the new version has no settable ${dropped.join(", ")}: not carried over` : ""}.\n`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message ? `upgrade-plugin: ${err.message}\n` : ""}${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`upgrade-plugin: ${err.message}\n`);
    process.exit(1);
  },
);
