/**
 * The managed (v2) plugin on the engine the tests call today's (Docker 28; 26 with
 * NUAGE_TEST_ENGINE=26): scripts/build-plugin.sh's directory accepted by `docker plugin create` (no registry), configured by `docker plugin set` (mount sources, one env
 * entry per config key) and a mounted nuage.cfg (the VSD keys), driver `nuage:latest`; the
 * README's network and containers end to end; starting without the Docker API.
 */
import { containerPrefix } from "../../sandbox/src/vrs-agent/vsd-ops.js";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAIN, NuageBed, REPO, expectNoOrphans } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { run, waitFor } from "../support/proc.js";
import { currentEngine } from "../support/dockerd.js";
import { expectTcpAndUdp } from "../support/traffic.js";
import { enableManagedPlugin, MANAGED_DRIVER, managedPluginDir, setManagedPlugin } from "../support/managed-plugin.js";
import { KNOWN_KEYS } from "../../src/config/config.js";
import { NODE_ENV_VARS, NODE_OPTIONS, NOT_SETTABLE_IN_MANAGED } from "../../src/managed-plugin/manifest.js";
import { Emitted, leakCheckUser } from "../support/leaks.js";

const CREATE = (driver: string) => [
  "network",
  "create",
  `--driver=${driver}`,
  "-o",
  "organization=Enterprise",
  "-o",
  "domain=Domain",
  "-o",
  "zone=Zone",
  "-o",
  "subnet=Subnet 2",
  "-o",
  "user=admin",
  "--subnet=10.21.59.0/24",
];

let bed: NuageBed;
/** The plugin's VSD user; its password, in a 0600 file on the config mount, is looked for in all it emits (last test). */
const LEAK_USER = leakCheckUser();
const emitted = new Emitted();

before(async () => {
  bed = await NuageBed.start({ name: "v2", engine: currentEngine(), plugin: "managed", vsdUser: LEAK_USER });
});
after(async () => {
  if (bed) await bed.stop();
});

const ipOf = async (c: string, net: string): Promise<string> =>
  (await bed.dockerOk(["inspect", "-f", `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, c])).trim();

const expectClean = (what: string): Promise<void> => expectNoOrphans(bed, what);

test("docker plugin create took the built directory; enabled as nuage:latest, host network, every config key a settable env entry", async () => {
  const [info] = JSON.parse(await bed.dockerOk(["plugin", "inspect", MANAGED_DRIVER])) as {
    Name: string;
    Enabled: boolean;
    Config: {
      Entrypoint: string[];
      Interface: { Types: string[]; Socket: string };
      Network: { Type: string };
      Linux: { Capabilities: string[] };
      Env: { Name: string; Value: string; Settable: string[] | null }[];
      Mounts: { Name: string; Settable: string[] | null }[];
    };
    Settings: { Env: string[]; Mounts: { Name: string; Source: string }[] };
  }[];
  assert.equal(info!.Name, MANAGED_DRIVER);
  assert.equal(info!.Enabled, true);
  assert.equal(info!.Config.Interface.Types[0], "docker.networkdriver/1.0");
  assert.equal(info!.Config.Interface.Socket, "nuage.sock");
  assert.equal(info!.Config.Network.Type, "host");
  assert.deepEqual(info!.Config.Linux.Capabilities, ["CAP_NET_ADMIN"]);
  const settable = info!.Config.Env.filter((e) => e.Settable?.includes("value"))
    .map((e) => e.Name)
    .sort();
  assert.deepEqual(
    settable,
    KNOWN_KEYS.filter((k) => !(NOT_SETTABLE_IN_MANAGED as readonly string[]).includes(k)).sort(),
  );
  assert.ok(
    info!.Settings.Env.some((e) => e.startsWith("VrsSocket=/var/run/openvswitch/")),
    "VrsSocket set by docker plugin set",
  );
  assert.deepEqual(info!.Config.Mounts.map((m) => m.Name).sort(), ["config", "docker", "ovsdb", "state"]);
  // node runs as bin/nuage-libnetwork runs it: its options, and its variables (malloc's tuning).
  assert.deepEqual(info!.Config.Entrypoint.slice(1, -1), [...NODE_OPTIONS]);
  for (const [name, value] of Object.entries(NODE_ENV_VARS)) {
    assert.ok(
      info!.Config.Env.some((e) => e.Name === name && e.Value === value && !e.Settable?.length),
      `config.json sets ${name}=${value}`,
    );
  }
  const node = [...bed.host.members()].find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("/app/dist/bundle/nuage-libnetwork.mjs");
    } catch {
      return false;
    }
  });
  assert.ok(node, "the plugin's node process runs in the bed's host");
  const environ = readFileSync(`/proc/${node}/environ`, "utf8").split("\0");
  for (const [name, value] of Object.entries(NODE_ENV_VARS))
    assert.ok(environ.includes(`${name}=${value}`), `the plugin's node has ${name}=${value}`);
  process.stdout.write(`# docker plugin enable took ${bed.enableMs} ms\n`);
  const log = bed.pluginLog();
  assert.match(log, /nuage plugin ready/, "the plugin's own log reaches dockerd's");
  // dockerd logs the plugin's stdout at info and its stderr at error: the plugin splits by level.
  const ready = log.split("\n").find((l) => l.includes("nuage plugin ready"));
  assert.match(ready ?? "", /level=info/, `the ready line is info in dockerd's log: ${ready}`);
  for (const l of log.split("\n").filter((x) => x.includes("plugin="))) {
    const pinoLevel = Number(/\\"level\\":(\d+)/.exec(l)?.[1] ?? Number.NaN);
    if (Number.isNaN(pinoLevel)) continue;
    assert.match(l, pinoLevel >= 50 ? /level=error/ : /level=info/, `dockerd's level matches the plugin's: ${l}`);
  }
});

test("-d nuage is refused (a managed plugin's driver name carries its tag); -d nuage:latest creates the README's network", async () => {
  const bare = await bed.docker([...CREATE("nuage"), "Untagged"]);
  emitted.add("docker error: untagged driver", bare.stderr);
  assert.notEqual(bare.code, 0);
  // The VSD keys come from the mounted nuage.cfg: a --subnet that is not the VSD subnet's is refused.
  const wrong = await bed.docker([
    "network",
    "create",
    `--driver=${MANAGED_DRIVER}`,
    "-o",
    "organization=Enterprise",
    "-o",
    "domain=Domain",
    "-o",
    "zone=Zone",
    "-o",
    "subnet=Subnet 2",
    "-o",
    "user=admin",
    "--subnet=10.21.58.0/24",
    "WrongNet",
  ]);
  emitted.add("docker error: CIDR unlike the VSD subnet's", wrong.stderr);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /does not match VSD subnet "Subnet 2", which is 10\.21\.59\.0\/24/);
  await bed.dockerOk([...CREATE(MANAGED_DRIVER), "MyNet"]);
  const ls = await bed.dockerOk(["network", "ls", "--format", "{{.Name}} {{.Driver}}"]);
  assert.match(ls, /^MyNet nuage:latest$/m);
});

test("containers on the network get their addresses, ping each other, and appear in the VSD under their names", async () => {
  for (const c of ["m1", "m2"])
    await bed.dockerOk(["run", "-d", "--name", c, "--net", "MyNet", BUSYBOX_IMAGE, "sleep", "3600"]);
  const ip1 = await ipOf("m1", "MyNet");
  const ip2 = await ipOf("m2", "MyNet");
  assert.match(ip1, /^10\.21\.59\.\d+$/);
  const p = await bed.execIn("m1", ["ping", "-c", "2", "-W", "3", ip2]);
  assert.equal(p.code, 0, `m1 → m2: ${p.stdout}${p.stderr}`);
  // The names come from the Docker API, reached through the "docker" mount.
  for (const [c, ip] of [
    ["m1", ip1],
    ["m2", ip2],
  ] as const) {
    const vc = await waitFor(`VSD container ${c}`, () => bed.vsdContainerNamed(c), { timeoutMs: 15_000 });
    const ifs = (await bed.vsd.state()).containerinterfaces.filter((i) => i.parentID === vc.ID);
    assert.equal(ifs[0]?.IPAddress, ip);
  }
  await bed.dockerOk(["rm", "-f", "m1", "m2"]);
  await bed.dockerOk(["network", "rm", "MyNet"]);
  await expectClean("rm -f and network rm");
});

test("NLN's v2 form: the one plugin as driver and IPAM, its options only as --ipam-opt; addresses reserved in the VSD, TCP and UDP between containers", async () => {
  // Nuage's Go plugin, installed as a managed plugin, served its IPAM under its own name
  // (nln.md: "IPAM driver = same plugin") and took the network's names from --ipam-opt.
  const opts = ["organization=Enterprise", "domain=Domain", "zone=Zone", "subnet=Subnet 2", "user=admin"];
  await bed.dockerOk([
    "network",
    "create",
    `--driver=${MANAGED_DRIVER}`,
    `--ipam-driver=${MANAGED_DRIVER}`,
    ...opts.flatMap((o) => ["--ipam-opt", o]),
    "--subnet=10.21.59.0/24",
    "--gateway=10.21.59.1",
    "NlnForm",
  ]);
  for (const c of ["n1", "n2"])
    await bed.dockerOk(["run", "-d", "--name", c, "--net", "NlnForm", BUSYBOX_IMAGE, "sleep", "3600"]);
  const ip1 = await ipOf("n1", "NlnForm");
  const ip2 = await ipOf("n2", "NlnForm");
  // Each address is a reservation the plugin's IPAM made in the VSD (a container of its own).
  const state = await bed.vsd.state();
  const reserved = new Set(
    state.containerinterfaces
      .filter((i) =>
        state.containers.some(
          (c) => c.ID === i.parentID && String(c.externalID ?? "").startsWith("nuage-libnetwork-ipam"),
        ),
      )
      .map((i) => String(i.IPAddress)),
  );
  assert.ok(reserved.has(ip1) && reserved.has(ip2), `${ip1} and ${ip2} reserved in the VSD: ${[...reserved]}`);
  await expectTcpAndUdp(bed, "n1", "n2", ip2);
  await bed.dockerOk(["rm", "-f", "n1", "n2"]);
  await bed.dockerOk(["network", "rm", "NlnForm"]);
  await expectClean("NLN's v2 form: rm -f and network rm");
});

test("the plugin starts and serves without the Docker API (no docker.sock in its docker mount)", async () => {
  const disabled = await bed.docker(["plugin", "disable", MANAGED_DRIVER]);
  assert.equal(disabled.code, 0, disabled.stderr);
  const empty = join(bed.dir, "no-docker");
  mkdirSync(empty, { recursive: true });
  await setManagedPlugin(bed.dockerd, { mounts: { docker: empty } as never });
  const { enableMs } = await enableManagedPlugin(bed.dockerd);
  process.stdout.write(`# enable without the Docker API took ${enableMs} ms\n`);
  assert.ok(enableMs < 9_000, `enabled in ${enableMs} ms (Docker gives a managed plugin about 9 s to listen)`);
  await bed.dockerOk([...CREATE(MANAGED_DRIVER), "NoApiNet"]);
  for (const c of ["n1", "n2"])
    await bed.dockerOk(["run", "-d", "--name", c, "--net", "NoApiNet", BUSYBOX_IMAGE, "sleep", "3600"]);
  const p = await bed.execIn("n1", ["ping", "-c", "2", "-W", "3", await ipOf("n2", "NoApiNet")]);
  assert.equal(p.code, 0, `n1 → n2 without the Docker API: ${p.stdout}`);
  // Without the API the VSD containers keep their stand-in names (README, managed plugin).
  const state = await bed.vsd.state();
  const names = state.containers
    .filter((c) => String(c.externalID).startsWith(containerPrefix(bed.hostId)))
    .map((c) => String(c.name));
  assert.equal(names.length, 2, names.join(", "));
  for (const n of names)
    assert.match(n, /^docker-[0-9a-f]{12}-[0-9a-f]{6}$/, "a stand-in name, not the Docker container's");
  await bed.dockerOk(["rm", "-f", "n1", "n2"]);
  await bed.dockerOk(["network", "rm", "NoApiNet"]);
  await expectClean("rm without the Docker API");
});

test("doctor on the host finds the managed plugin: its socket in Docker's plugin folder answers, enabled; disabled is named", async () => {
  // The host's view of what the plugin was given: host paths, and its state mount's source as StateDir.
  const cfg = join(bed.dir, "doctor.cfg");
  writeFileSync(
    cfg,
    readFileSync(bed.cfgPath, "utf8").replace(/^StateDir = .*$/m, `StateDir = ${JSON.stringify(bed.stateDir)}`),
    { mode: 0o600 },
  );
  const doctor = async (): Promise<{
    code: number;
    checks: Record<string, { status: string; detail: string; fix?: string }>;
  }> => {
    const r = await bed.host.exec(process.execPath, [MAIN, "doctor", "-f", cfg, "--json"], { timeoutMs: 60_000 });
    emitted.add("doctor --json", r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as { checks: { name: string; status: string; detail: string; fix?: string }[] };
    return { code: r.code, checks: Object.fromEntries(report.checks.map((c) => [c.name, c])) };
  };
  const on = await doctor();
  assert.equal(on.checks.plugin?.status, "ok", JSON.stringify(on.checks));
  assert.match(
    on.checks.plugin!.detail,
    /^\/run\/docker\/plugins\/[0-9a-f]{64}\/nuage\.sock answers Plugin\.Activate: implements NetworkDriver/,
  );
  assert.deepEqual(
    [on.checks["docker-plugin"]?.status, on.checks["docker-plugin"]?.detail],
    ["ok", `Docker has the managed plugin ${MANAGED_DRIVER}, enabled`],
  );
  assert.equal(on.code, 0, JSON.stringify(on.checks));
  await bed.dockerOk(["plugin", "disable", MANAGED_DRIVER]);
  try {
    const off = await doctor();
    assert.equal(off.code, 1);
    assert.deepEqual(
      [off.checks["docker-plugin"]?.status, off.checks["docker-plugin"]?.fix],
      ["failed", `docker plugin enable ${MANAGED_DRIVER}`],
    );
    assert.equal(off.checks.plugin?.status, "failed", "nothing answers on its socket while disabled");
  } finally {
    await enableManagedPlugin(bed.dockerd);
  }
});

interface PluginInspect {
  Id: string;
  Enabled: boolean;
  Settings: { Env: string[]; Mounts: { Name: string; Source: string }[] };
}
const inspectPlugin = async (): Promise<PluginInspect> =>
  (JSON.parse(await bed.dockerOk(["plugin", "inspect", MANAGED_DRIVER])) as PluginInspect[])[0]!;

/** scripts/upgrade-plugin.sh against the bed's dockerd, with the engine's own client. */
async function upgradePlugin(): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DOCKER_HOST: bed.dockerd.endpoint,
    DOCKER_CONFIG: join(bed.dir, "cli"),
  };
  delete env.DOCKER_CONTEXT;
  const args = [join(REPO, "scripts/upgrade-plugin.sh"), "--docker", bed.dockerd.dockerBin, await managedPluginDir()];
  return run("bash", args, { env, timeoutMs: 300_000 });
}

test("scripts/upgrade-plugin.sh refuses while containers are attached; with networks and stopped containers it upgrades keeping every setting, and they start again", async () => {
  await bed.dockerOk([...CREATE(MANAGED_DRIVER), "UpNet"]);
  for (const c of ["u1", "u2"])
    await bed.dockerOk(["run", "-d", "--name", c, "--net", "UpNet", BUSYBOX_IMAGE, "sleep", "3600"]);
  const exchange = async (when: string): Promise<void> => {
    const ip2 = await ipOf("u2", "UpNet");
    assert.match(ip2, /^10\.21\.59\.\d+$/);
    const p = await bed.execIn("u1", ["ping", "-c", "2", "-W", "3", ip2]);
    assert.equal(p.code, 0, `u1 → u2 ${when}: ${p.stdout}${p.stderr}`);
    await expectTcpAndUdp(bed, "u1", "u2", ip2);
  };
  await exchange("before the upgrade");
  const before = await inspectPlugin();
  const refused = await upgradePlugin();
  assert.equal(refused.code, 1, refused.stdout + refused.stderr);
  assert.match(refused.stderr, /nuage:latest is in use: 2 container\(s\) attached: .*u1 \(network UpNet\)/);
  assert.match(refused.stderr, /Nothing was changed\.\nDrain this host first: stop them \(docker stop u[12] u[12]/);
  assert.deepEqual(await inspectPlugin(), before, "a refused upgrade changes nothing");

  await bed.dockerOk(["kill", "u1", "u2"]);
  const t0 = Date.now();
  const done = await upgradePlugin();
  const upgradeMs = Date.now() - t0;
  assert.equal(done.code, 0, done.stdout + done.stderr);
  process.stdout.write(`# scripts/upgrade-plugin.sh took ${upgradeMs} ms\n`);
  const after = await inspectPlugin();
  assert.notEqual(after.Id, before.Id, "a new plugin was created");
  assert.equal(after.Enabled, true);
  assert.deepEqual([...after.Settings.Env].sort(), [...before.Settings.Env].sort(), "every env entry kept");
  const sources = (p: PluginInspect) => Object.fromEntries(p.Settings.Mounts.map((m) => [m.Name, m.Source]));
  assert.deepEqual(sources(after), sources(before), "every mount source kept");
  assert.match(done.stdout, /upgraded from .* kept 4 mount sources and \d+ env entries\./);

  await bed.dockerOk(["start", "u1", "u2"]);
  await exchange("after the upgrade");
  await bed.dockerOk(["rm", "-f", "u1", "u2"]);
  await bed.dockerOk(["network", "rm", "UpNet"]);
  await expectClean("upgrade, start, rm -f and network rm");
});

test("docker plugin inspect, the plugin's log and doctor hold no VSD password, API key or base64(user:password)", async (t) => {
  const inspect = await bed.dockerOk(["plugin", "inspect", MANAGED_DRIVER]);
  assert.match(inspect, /"Name": "VsdPassword"/, "inspect lists the VsdPassword entry (empty)");
  emitted.add("docker plugin inspect", inspect);
  const text = await bed.host.exec(process.execPath, [MAIN, "doctor", "-f", join(bed.dir, "doctor.cfg")], {
    timeoutMs: 60_000,
  });
  emitted.add("doctor", text.stdout + text.stderr);
  const log = bed.pluginLog();
  assert.match(log, /nuage plugin ready/);
  emitted.add("plugin log (Debug, through dockerd)", log);
  emitted.add("dockerd log", bed.dockerd.logTail(100_000));
  const apiKeys = (await bed.vsd.apiKeys()).filter((k) => k.userName === LEAK_USER.name).map((k) => k.key);
  assert.ok(apiKeys.length >= 1, "the plugin logged in with the password from its file");
  t.diagnostic(`searched ${emitted.sources.length} sources, ${Math.round(emitted.totalBytes() / 1024)} kB`);
  assert.deepEqual(emitted.leaks({ user: LEAK_USER.name, password: LEAK_USER.password, apiKeys }), []);
});
