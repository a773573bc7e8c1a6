/**
 * Operations on one test host (one bed for the whole file): `doctor` on a healthy host with
 * containers, then with each part broken in turn, each named in its output with exit 1; the
 * Prometheus metrics after a few `docker run`s; /healthz following ovsdb-server down and up.
 * The breakages go from the least to the most destructive, so each finds the rest intact.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NuageBed, MAIN, REPO, README_CREATE, SUBNET3_CREATE, expectNoOrphans } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { isAlive, runOk, waitFor } from "../support/proc.js";
import { mapToObject, setToArray, uuidOf } from "../../src/vrs/ovsdb/values.js";
import type { DoctorReport } from "../../src/ops/doctor.js";
import { Emitted, leakCheckUser, refusedDockerCalls } from "../support/leaks.js";

const METRICS = "127.0.0.1:9476";
const OPS_CLI = join(REPO, "dist/test/support/ops-cli.js");
let bed: NuageBed;
/** The plugin's VSD user: its password is looked for in everything the plugin emits (last test). */
const LEAK_USER = leakCheckUser();
const emitted = new Emitted();

before(async () => {
  bed = await NuageBed.start({ name: "ops", extraConfig: { MetricsAddress: METRICS }, vsdUser: LEAK_USER });
  await bed.dockerOk([...README_CREATE, "-o", "policy-group=PG1", "MyNet"]);
  for (const name of ["c1", "c2"])
    await bed.dockerOk(["run", "-d", "--name", name, "--net", "MyNet", BUSYBOX_IMAGE, "sleep", "3600"]);
});
after(async () => {
  if (bed) await bed.stop();
});

interface DoctorRun {
  code: number;
  text: string;
  report: DoctorReport;
  ms: number;
}

/** Runs `doctor` inside the host (its plugin socket, links and OVSDB), as text and as --json. */
async function doctor(cfgPath = bed.cfgPath): Promise<DoctorRun> {
  const t0 = Date.now();
  const text = await bed.host.exec(process.execPath, [MAIN, "doctor", "-f", cfgPath], { timeoutMs: 60_000 });
  const ms = Date.now() - t0;
  const json = await bed.host.exec(process.execPath, [MAIN, "doctor", "-f", cfgPath, "--json"], { timeoutMs: 60_000 });
  emitted.add("doctor", text.stdout + text.stderr);
  emitted.add("doctor --json", json.stdout + json.stderr);
  assert.equal(json.code, text.code, "--json exits as the text run does");
  return { code: text.code, text: text.stdout, report: JSON.parse(json.stdout) as DoctorReport, ms };
}

const failedChecks = (r: DoctorReport): string[] => [
  ...r.checks.filter((c) => c.status === "failed").map((c) => (c.subject ? `${c.name} ${c.subject}` : c.name)),
  ...r.endpoints.filter((e) => e.status === "failed").map((e) => `endpoint ${e.container ?? e.endpoint.slice(0, 12)}`),
  ...(r.reconcile.status === "failed" ? ["reconcile"] : []),
];

/** Exit 1, exactly these checks failed (in JSON), and each is a FAILED line of the text with what to do under it. */
function assertFailed(run: DoctorRun, expected: string[], what: string): void {
  assert.equal(run.code, 1, `${what}: exit status\n${run.text}`);
  assert.equal(run.report.ok, false);
  assert.deepEqual(failedChecks(run.report), expected, `${what}: failed checks\n${run.text}`);
  for (const name of expected) {
    const label = name.replace(/^endpoint /, ""); // an endpoint's line is labelled with its container
    assert.match(
      run.text,
      new RegExp(`^FAILED  ${label.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b.*\\n {24}→ \\S`, "m"),
      `${what}: a FAILED line for ${name} with a fix\n${run.text}`,
    );
  }
}

async function configWith(change: (text: string) => string, name: string): Promise<string> {
  const path = join(bed.dir, name);
  await writeFile(path, change(await readFile(bed.cfgPath, "utf8")), { mode: 0o600 });
  return path;
}

async function httpGet(path: string): Promise<{ status: number; body: string }> {
  const answer = JSON.parse(
    await bed.host.execOk(process.execPath, [OPS_CLI, "get", `http://${METRICS}${path}`], { timeoutMs: 20_000 }),
  ) as { status: number; body: string };
  emitted.add(path, answer.body);
  return answer;
}

/** The value of `name{labels}` in Prometheus text (labels in any order, exactly these). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      (m[2] ?? "")
        .split(",")
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf("=")), JSON.parse(kv.slice(kv.indexOf("=") + 1)) as string]),
    );
    if (
      Object.keys(have).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => have[k] === v)
    )
      return Number(m[3]);
  }
  return undefined;
}

test("doctor on a healthy host: exit 0, every check ok, each endpoint with its container, port, IP, MAC and resolution", async (t) => {
  const run = await doctor();
  for (const l of run.text.trimEnd().split("\n")) t.diagnostic(l);
  t.diagnostic(`doctor took ${run.ms} ms (process start included)`);
  assert.equal(run.code, 0, run.text);
  assert.equal(run.report.ok, true);
  assert.deepEqual(
    run.report.checks.map((c) => [c.name, c.status]),
    [
      ["config", "ok"],
      ["docker", "ok"],
      ["plugin", "ok"],
      ["docker-plugin", "ok"],
      ["ovsdb", "ok"],
      ["nuage-tables", "ok"],
      ["bridge", "ok"],
      ["controller", "ok"],
      ["records", "ok"],
      ["vsd", "ok"],
      ["vsd-login", "ok"],
      ["network", "ok"],
    ],
  );
  assert.equal(run.report.checks.find((c) => c.name === "network")?.subject, "MyNet");
  assert.equal(run.report.endpoints.length, 2);
  for (const name of ["c1", "c2"]) {
    const e = run.report.endpoints.find((x) => x.container === name);
    assert.ok(e, `endpoint of ${name} listed`);
    const [ip, mac, id] = (
      await bed.dockerOk([
        "inspect",
        "-f",
        "{{.NetworkSettings.Networks.MyNet.IPAddress}} {{.NetworkSettings.Networks.MyNet.MacAddress}} {{.Id}}",
        name,
      ])
    )
      .trim()
      .split(" ");
    assert.equal(e.status, "ok");
    assert.equal(e.ip, ip);
    assert.equal(e.mac, mac);
    assert.equal(e.containerId, id);
    assert.equal(e.networkName, "MyNet");
    assert.match(e.port, /^nuh[0-9a-z]{12}$/);
    assert.equal(e.resolution, `resolved ${ip}/24 gw 10.21.59.1`);
    const vport = (await bed.vsd.state()).vports.find((v) => v.name === e.vport || v.ID === e.vport);
    assert.ok(vport, `the VSD has vPort ${e.vport}`);
    assert.deepEqual([e.policyGroups, e.policyGroupsFrom], [["PG1"], "vsd"]);
    assert.match(
      run.text,
      new RegExp(
        `^ok {6}${name} +endpoint ${e.endpoint.slice(0, 12)} on MyNet  port ${e.port}  ip ${ip}  mac ${mac}  resolved ${ip}/24 gw 10\\.21\\.59\\.1  vport ${e.vport}  policy groups \\(VSD\\): PG1$`,
        "m",
      ),
    );
  }
  assert.equal(run.report.reconcile.status, "ok");
  assert.match(run.text, /^ok {6}reconcile +dry run: a reconcile pass would remove nothing$/m);
  assert.match(run.text, /^all checks hold$/m);
});

test("metrics after a few docker runs: calls by call and outcome, latency buckets, resolution time, the endpoint gauge", async () => {
  for (let i = 0; i < 3; i++) await bed.dockerOk(["run", "--rm", "--net", "MyNet", BUSYBOX_IMAGE, "true"]);
  const { status, body } = await httpGet("/metrics");
  assert.equal(status, 200);
  const p = "nuage_libnetwork_";
  for (const call of ["CreateEndpoint", "Join", "Leave", "DeleteEndpoint"]) {
    const labels = { call: `NetworkDriver.${call}`, outcome: "ok" };
    const n = sample(body, `${p}docker_calls_total`, labels);
    assert.ok(n !== undefined && n >= 3, `${call}: ${n} calls\n${body}`);
    assert.equal(sample(body, `${p}docker_call_duration_seconds_bucket`, { ...labels, le: "+Inf" }), n);
    assert.ok(sample(body, `${p}docker_call_duration_seconds_bucket`, { ...labels, le: "30" })! <= n!);
    assert.ok(sample(body, `${p}docker_call_duration_seconds_sum`, labels)! > 0);
  }
  assert.equal(sample(body, `${p}docker_calls_total`, { call: "NetworkDriver.CreateNetwork", outcome: "ok" }), 1);
  assert.ok(
    sample(body, `${p}vrs_resolution_duration_seconds_count`, { outcome: "resolved" })! >= 5,
    "one resolution per Join (2 + 3)",
  );
  assert.equal(sample(body, `${p}endpoints`), 2, "c1 and c2; the --rm containers are gone");
  assert.equal(sample(body, `${p}networks`), 1);
  assert.ok(sample(body, "process_resident_memory_bytes")! > 0, "process default metrics");
});

/** Kills the bed's ovsdb-server; returns a function that starts it again on the same database. */
async function stopOvsdbServer(): Promise<() => Promise<void>> {
  const pid = Number(readFileSync(join(bed.ovs.stateDir, "ovsdb-server.pid"), "utf8").trim());
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  const env = Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, "utf8")
      .split("\0")
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  );
  assert.match(argv[0] ?? "", /ovsdb-server$/);
  process.kill(pid, "SIGTERM");
  await waitFor("ovsdb-server to exit", () => !isAlive(pid), { timeoutMs: 10_000, intervalMs: 20 });
  return async () => {
    await runOk(argv[0]!, argv.slice(1), { env });
  }; // --detach: returns once it serves
}

test("/healthz turns 503 naming OVSDB while ovsdb-server is stopped (doctor names it too), 200 once it is back", async () => {
  assert.deepEqual(await httpGet("/healthz"), { status: 200, body: "ok\n" });
  const start = await stopOvsdbServer();
  try {
    const down = await waitFor(
      "/healthz 503",
      async () => {
        const h = await httpGet("/healthz");
        return h.status === 503 ? h : false;
      },
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    assert.match(down.body, /^OVSDB at unix:.*db\.sock is not connected$/m);
    const run = await doctor();
    assert.equal(run.code, 1, run.text);
    assert.ok(failedChecks(run.report).includes("ovsdb"), run.text);
    assert.match(run.text, /^FAILED {2}ovsdb +.*db\.sock.*\n {24}→ start the VRS's ovsdb-server/m);
    assert.match(run.text, /^skipped bridge +needs OVSDB$/m);
  } finally {
    await start();
  }
  await waitFor("/healthz 200", async () => (await httpGet("/healthz")).status === 200, {
    timeoutMs: 15_000,
    intervalMs: 200,
  });
  const { body } = await httpGet("/metrics");
  assert.ok(sample(body, "nuage_libnetwork_reconnects_total", { peer: "ovsdb" })! >= 1, "the reconnection is counted");
  await waitFor("doctor healthy again", async () => (await doctor()).code === 0, {
    timeoutMs: 20_000,
    intervalMs: 500,
  });
});

test("doctor: a wrong config key is named, exit 1", async () => {
  const cfg = await configWith((t) => `${t}VrsBrige = "alubr0"\n`, "typo.cfg");
  const run = await doctor(cfg);
  assertFailed(run, ["config"], "config key wrong");
  assert.match(run.text, /unknown key "VrsBrige"/);
});

test("doctor: a wrong VSD password fails the login check only", async () => {
  const cfg = await configWith(
    (t) => t.replace(/^VsdPassword = .*$/m, 'VsdPassword = "not-the-password"'),
    "badpw.cfg",
  );
  const run = await doctor(cfg);
  assertFailed(run, ["vsd-login"], "VSD password wrong");
  assert.equal(run.report.checks.find((c) => c.name === "vsd")?.status, "ok", "the VSD itself answers");
  assert.doesNotMatch(run.text + JSON.stringify(run.report), /not-the-password/);
});

test("doctor: a network whose VSD subnet was deleted is named", async () => {
  await bed.dockerOk([...SUBNET3_CREATE, "Net3"]);
  await bed.host.execOk(
    process.execPath,
    [
      OPS_CLI,
      "delete-subnet",
      bed.vsd.url,
      bed.vsd.caFile,
      JSON.stringify({ enterprise: "Enterprise", domain: "Domain", zone: "Zone", subnet: "Subnet 3" }),
    ],
    { timeoutMs: 20_000 },
  );
  try {
    const run = await doctor();
    assertFailed(run, ["network Net3"], "VSD subnet deleted");
    assert.match(
      run.text,
      /^FAILED {2}network Net3 +VSD subnet "Subnet 3" \(Enterprise \/ Domain \/ Zone\) no longer exists/m,
    );
    assert.match(run.text, /→ recreate VSD subnet .* or remove the network: docker network rm Net3/);
  } finally {
    await bed.dockerOk(["network", "rm", "Net3"]);
  }
});

test("doctor: a leftover veth is what a reconcile pass would remove", async () => {
  await bed.host.ip(["link", "add", "nuh0123456789ab", "type", "veth", "peer", "name", "nuc0123456789ab"]);
  try {
    const run = await doctor();
    assertFailed(run, ["reconcile"], "leftover veth");
    assert.deepEqual(run.report.reconcile.wouldRemove?.links, ["nuh0123456789ab", "nuc0123456789ab"]);
    assert.match(
      run.text,
      /^FAILED {2}reconcile +dry run: a reconcile pass would remove 2 veths \(nuh0123456789ab, nuc0123456789ab\)/m,
    );
    assert.ok(
      (await bed.host.ip(["link", "show", "nuh0123456789ab"])).includes("nuh0123456789ab"),
      "the dry run removed nothing",
    );
  } finally {
    await bed.host.ip(["link", "del", "nuh0123456789ab"]);
  }
});

test("doctor: a vPort the VSD took out of the network's policy group is named with its endpoint", async () => {
  const before = await doctor();
  const c1 = before.report.endpoints.find((e) => e.container === "c1");
  assert.ok(c1?.vport, before.text);
  const setGroups = (names: string[]) =>
    bed.host.execOk(
      process.execPath,
      [OPS_CLI, "vport-groups", bed.vsd.url, bed.vsd.caFile, c1.vport!, JSON.stringify(names)],
      { timeoutMs: 20_000 },
    );
  await setGroups([]);
  try {
    const run = await doctor();
    assertFailed(run, ["endpoint c1"], "vPort out of its policy group");
    assert.match(run.text, /^1 failed: endpoint c1$/m);
    assert.match(
      run.text,
      new RegExp(
        `^FAILED  c1 +endpoint .*policy groups \\(VSD\\): none  \\(vPort ${c1.vport} is not in policy group PG1\\)$`,
        "m",
      ),
    );
  } finally {
    await setGroups(["PG1"]);
  }
  assert.equal((await doctor()).code, 0);
});

test("Docker-facing errors, VSD failures and a new VSD login: each refused call answered with a reason", async () => {
  await refusedDockerCalls(bed, emitted, LEAK_USER.name);
});

test("ResolveWait against a VRS taking 3 s to resolve: before-start waits and the network works at once; after-start starts the container first; a port that never resolves is reported in the log, doctor and a metric, and nothing is left", async (t) => {
  const DELAY_MS = 3_000;
  const AFTER_DELAY_MS = 12_000;
  await bed.restartAgent(["--resolve-delay", `${DELAY_MS}ms`]);
  // How long the plugin took to answer Join, from its own log line: docker run's time on a
  // loaded machine says little (seconds of dockerd and containerd around the call).
  const timed = async (args: string[]) => {
    const from = bed.pluginLog().length;
    const t0 = Date.now();
    const r = await bed.docker(args);
    const joins = bed
      .pluginLog()
      .slice(from)
      .split("\n")
      .filter((l) => l.includes('"msg":"NetworkDriver.Join"'))
      .map((l) => (JSON.parse(l) as { ms: number }).ms);
    return { ...r, ms: Date.now() - t0, joinMs: joins[0] ?? Number.NaN };
  };
  const fetchWeb = (ip: string, timeoutS: number) => [
    "run",
    "--rm",
    "--net",
    "MyNet",
    BUSYBOX_IMAGE,
    // busybox 1.35's wget -T segfaults: the timeout comes from timeout(1).
    "timeout",
    String(timeoutS),
    "wget",
    "-q",
    "-O",
    "-",
    `http://${ip}/hostname`,
  ];
  const original = await readFile(bed.cfgPath, "utf8");
  try {
    // before-start (the default): docker run waits for the resolution; the first instruction has the network.
    const web = await timed([
      "run",
      "-d",
      "--name",
      "web",
      "--net",
      "MyNet",
      BUSYBOX_IMAGE,
      "httpd",
      "-f",
      "-p",
      "80",
      "-h",
      "/etc",
    ]);
    assert.equal(web.code, 0, web.stderr);
    assert.ok(web.joinMs >= DELAY_MS, `before-start: Join answered after ${web.joinMs} ms, before the resolution`);
    const webIp = (
      await bed.dockerOk(["inspect", "-f", "{{.NetworkSettings.Networks.MyNet.IPAddress}}", "web"])
    ).trim();
    const webHost = (await bed.dockerOk(["inspect", "-f", "{{.Config.Hostname}}", "web"])).trim();
    const first = await timed(fetchWeb(webIp, 1));
    assert.equal(first.code, 0, `before-start: a container's first request failed: ${first.stderr}`);
    assert.equal(first.stdout.trim(), webHost);
    t.diagnostic(
      `before-start, resolution ${DELAY_MS} ms: Join ${web.joinMs} ms, docker run -d ${web.ms} ms; a 1-request container ${first.ms} ms, answered`,
    );

    // after-start: Join returns once the port is written. Against a slower VRS still, so that the
    // container's first request comes well before its port resolves, however loaded the machine.
    await bed.restartAgent(["--resolve-delay", `${AFTER_DELAY_MS}ms`]);
    await bed.stopPlugin();
    await writeFile(
      bed.cfgPath,
      `${original.replace(/^ResolveTimeout = .*\n/m, "")}ResolveWait = "after-start"\nResolveTimeout = 4\n`,
      { mode: 0o600 },
    );
    await bed.startPlugin();
    const early = await timed(fetchWeb(webIp, 1));
    assert.notEqual(early.code, 0, "after-start: the container's request before its port resolved got through");
    assert.ok(early.joinMs < 1_000, `after-start: Join answered after ${early.joinMs} ms: it waited`);
    const later = await timed([
      "run",
      "--rm",
      "--net",
      "MyNet",
      BUSYBOX_IMAGE,
      "sh",
      "-c",
      `for i in $(seq 30); do timeout 1 wget -q -O - http://${webIp}/hostname && exit 0; done; exit 1`,
    ]);
    assert.equal(later.code, 0, `after-start: the network never came: ${later.stderr}`);
    assert.equal(later.stdout.trim(), webHost);
    t.diagnostic(
      `after-start, resolution ${AFTER_DELAY_MS} ms: Join ${early.joinMs} ms, a 1-request container ${early.ms} ms, no answer; one retrying until answered ${later.ms} ms`,
    );

    // A port that never resolves (a VSD user that does not exist): the container runs, and it is reported.
    await bed.dockerOk([
      "network",
      "create",
      "--driver=nuage",
      ...["-o", "organization=Second Enterprise", "-o", "domain=Domain B", "-o", "zone=Zone B"],
      ...["-o", "subnet=Subnet B", "-o", "user=nobody", "--subnet=10.31.59.0/24", "Silent"],
    ]);
    const lost = await timed(["run", "-d", "--name", "lost", "--net", "Silent", BUSYBOX_IMAGE, "sleep", "3600"]);
    assert.equal(lost.code, 0, `after-start: docker run failed: ${lost.stderr}`);
    const lostEndpoint = (
      await bed.dockerOk(["inspect", "-f", "{{.NetworkSettings.Networks.Silent.EndpointID}}", "lost"])
    ).slice(0, 12);
    const warningOf = (): string | undefined =>
      bed
        .pluginLog()
        .split("\n")
        .find((l) => l.includes("has not resolved the port of a running container") && l.includes(lostEndpoint));
    await waitFor("the warning", () => warningOf() !== undefined, { timeoutMs: 15_000, intervalMs: 200 });
    const warning = warningOf();
    assert.equal((JSON.parse(warning!) as { level: number }).level, 40, "at warning level");
    assert.equal(sample((await httpGet("/metrics")).body, "nuage_libnetwork_ports_unresolved"), 1);
    const run = await doctor();
    assertFailed(run, ["endpoint lost"], "a port that never resolves");
    const lostEp = run.report.endpoints.find((e) => e.container === "lost");
    assert.match(lostEp?.resolution ?? "", /^unresolved/, run.text);

    await bed.dockerOk(["rm", "-f", "lost"]);
    await bed.dockerOk(["network", "rm", "Silent"]);
    await waitFor(
      "the metric back to 0",
      async () => sample((await httpGet("/metrics")).body, "nuage_libnetwork_ports_unresolved") === 0,
      { timeoutMs: 10_000, intervalMs: 200 },
    );
    await expectNoOrphans(bed, "after-start with a port that never resolved");
  } finally {
    await bed.docker(["rm", "-f", "web", "lost"]);
    await bed.docker(["network", "rm", "Silent"]);
    await bed.stopPlugin();
    await writeFile(bed.cfgPath, original, { mode: 0o600 });
    await bed.startPlugin();
    await bed.restartAgent();
  }
  assert.equal((await doctor()).code, 0, "healthy again");
});

test("doctor: the VRS's controller disconnected is named", async () => {
  const vsc = bed.ovs.pids.vsc;
  assert.ok(vsc, "the bed runs the stand-in VSC");
  process.kill(vsc, "SIGKILL");
  await waitFor(
    "ovs-vswitchd to drop the master role",
    async () => {
      const [res] = await bed.ovsdb.transact("Open_vSwitch", [
        { op: "select", table: "Controller", where: [], columns: ["role"] },
      ]);
      return (res?.rows ?? []).every((r) => !setToArray(r.role).includes("master"));
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  const run = await doctor();
  assertFailed(run, ["controller"], "controller disconnected");
  assert.match(
    run.text,
    /^FAILED {2}controller +bridge alubr0's controller is not connected: unix:.*vsc\.sock \(role none\)/m,
  );
});

test("doctor: the bridge missing is named", async () => {
  const [br] = await bed.ovsdb.transact("Open_vSwitch", [
    { op: "select", table: "Bridge", where: [["name", "==", bed.bridge]], columns: ["_uuid", "external_ids"] },
  ]);
  const uuid = uuidOf(br!.rows![0]!._uuid);
  assert.ok(mapToObject(br!.rows![0]!.external_ids) !== undefined);
  await bed.ovsdb.transact("Open_vSwitch", [
    { op: "mutate", table: "Open_vSwitch", where: [], mutations: [["bridges", "delete", ["set", [["uuid", uuid]]]]] },
  ]);
  const run = await doctor();
  assert.equal(run.code, 1);
  const failed = failedChecks(run.report);
  assert.ok(failed.includes("bridge"), run.text);
  assert.match(
    run.text,
    /^FAILED {2}bridge +bridge alubr0 \(VrsBridge\) does not exist in the VRS\n {24}→ set VrsBridge/m,
  );
  assert.match(run.text, /^skipped controller +needs the bridge$/m);
  // Its ports went with it: each endpoint says what is wrong with it.
  assert.ok(
    run.report.endpoints.every(
      (e) => e.status === "failed" && e.problems.some((p) => p.includes("not on bridge alubr0")),
    ),
    run.text,
  );
});

test("doctor: Docker down is named", async () => {
  await bed.dockerd.stop();
  const run = await doctor();
  assert.equal(run.code, 1);
  assert.ok(failedChecks(run.report).includes("docker"), run.text);
  assert.match(
    run.text,
    /^FAILED {2}docker +the Docker API at unix:.* is unavailable .*\n {24}→ start dockerd, or set DockerEndpoint/m,
  );
  assert.match(run.report.reconcile.detail, /Docker does not answer/);
});

test("nothing the plugin emitted holds the VSD password, an API key or base64(user:password)", async (t) => {
  // Still running (only dockerd is down): its last answers and its whole log, at Debug since the start.
  await httpGet("/metrics");
  await httpGet("/healthz");
  const log = bed.pluginLog();
  assert.match(log, /"level":20/, "the log holds Debug lines");
  emitted.add("plugin log (Debug)", log);
  emitted.add("dockerd log (the errors Docker got)", bed.dockerd.logTail(100_000));
  const apiKeys = (await bed.vsd.apiKeys()).filter((k) => k.userName === LEAK_USER.name).map((k) => k.key);
  assert.ok(
    apiKeys.length >= 2,
    `the plugin's logins: ${apiKeys.length} API keys (one at start, one after they expired)`,
  );
  for (const source of ["doctor", "doctor --json", "/metrics", "/healthz"])
    assert.ok(emitted.count(source) > 0, `gathered ${source}`);
  assert.ok(emitted.count("docker error: a policy group the VSD does not have") === 1, "gathered the Docker errors");
  t.diagnostic(
    `searched ${emitted.sources.length} sources, ${Math.round(emitted.totalBytes() / 1024)} kB, for the password and ${apiKeys.length} API keys`,
  );
  assert.deepEqual(emitted.leaks({ user: LEAK_USER.name, password: LEAK_USER.password, apiKeys }), []);
});
