/**
 * Proves the end-to-end test harness (test/support): private hosts, private dockerds,
 * the offline busybox image, and a two-host lab sharing one etcd cluster store.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, describe, test } from "node:test";
import { ensureBusyboxImage, BUSYBOX_IMAGE } from "../support/busybox-image.js";
import { cleanupAll } from "../support/cleanup.js";
import { startDockerd } from "../support/dockerd.js";
import { startEtcd } from "../support/etcd.js";
import { createHost, createLab } from "../support/host.js";
import { cmdline, listPids, makeTestDir, mountsUnder, nsId } from "../support/proc.js";

after(async () => {
  const errors = await cleanupAll();
  assert.deepEqual(errors, [], "harness cleanup failed");
});

/** Pids whose command line mentions dir (dockerd, containerd, shims of a daemon in dir). */
const processesOf = (dir: string): number[] =>
  listPids().filter((p) => p !== process.pid && cmdline(p).some((a) => a.includes(dir)));

const log = (msg: string): void => {
  process.stderr.write(`# ${msg}\n`);
};

describe("harness", { timeout: 90_000 }, () => {
  test("one host: private mount namespace, private dockerd, busybox image, clean teardown", async () => {
    const host = await createHost({ name: "single" });
    assert.notEqual(host.mountNs, nsId("self", "mnt"), "host has its own mount namespace");
    assert.equal(host.netNs, nsId("self", "net"), "no netns requested: root network namespace");

    // /run/docker/plugins is private to the host, in both directions.
    const marker = `/run/docker/plugins/harness-${host.name}.sock`;
    await host.execOk("touch", [marker]);
    assert.equal((await host.exec("test", ["-e", marker])).code, 0, "visible inside the host");
    assert.equal(existsSync(marker), false, "not visible in the root namespace");
    assert.ok(host.mounts().some((m) => m.mountPoint === "/run/docker" && m.fsType === "tmpfs"));
    assert.ok(!host.mounts().some((m) => m.mountPoint === "/run/containerd" && m.fsType !== "tmpfs"));

    const dir = makeTestDir("one");
    const dockerd = await startDockerd(host, { dir });
    log(`dockerd (${dockerd.storageDriver}) answered after ${dockerd.startMs} ms`);
    assert.match(await dockerd.dockerOk(["info", "--format", "{{.DockerRootDir}}"]), new RegExp(`^${dir}/data`));

    // Its containerd is the managed one, under its own exec-root, in the host.
    const containerd = processesOf(dir).filter((p) => cmdline(p)[0]?.endsWith("containerd"));
    assert.equal(containerd.length, 1, "one managed containerd");
    assert.ok(cmdline(containerd[0]!).includes(`${dir}/run/containerd/containerd.toml`));
    assert.equal(nsId(containerd[0]!, "mnt"), host.mountNs);

    const t0 = Date.now();
    assert.equal(await ensureBusyboxImage(dockerd), BUSYBOX_IMAGE);
    log(`busybox image built in ${Date.now() - t0} ms`);
    await ensureBusyboxImage(dockerd); // idempotent
    const t1 = Date.now();
    const r = await dockerd.docker(["run", "--rm", "--net", "none", BUSYBOX_IMAGE, "true"]);
    assert.equal(r.code, 0, r.stderr);
    log(`docker run --rm true took ${Date.now() - t1} ms`);
    const out = await dockerd.dockerOk([
      "run",
      "--rm",
      "--net",
      "none",
      BUSYBOX_IMAGE,
      "sh",
      "-c",
      "hostname >/dev/null && ping -c1 -W1 127.0.0.1 >/dev/null && echo ok",
    ]);
    assert.equal(out.trim(), "ok");

    // A running container at stop time: dockerd stops it (shutdown-timeout) and cleans up.
    await dockerd.dockerOk(["run", "-d", "--net", "none", "--name", "sleeper", BUSYBOX_IMAGE, "sleep", "1000"]);
    const { stopMs } = await dockerd.stop();
    log(`dockerd stop (one running container) took ${stopMs} ms`);
    assert.deepEqual(processesOf(dir), [], "no dockerd/containerd/shim of that dir remains");
    assert.deepEqual(mountsUnder(host.pid, dir), [], "no mounts under its dir in the host");
    assert.deepEqual(mountsUnder("self", dir), [], "no mounts under its dir in the root namespace");
    assert.equal(existsSync(dir), false, "dir removed");

    await host.destroy();
    assert.equal(host.members().size, 0, "nothing runs in the host any more");
    // The holder is reaped by node asynchronously after its SIGKILL: give the reaping a moment.
    const reapedBy = Date.now() + 5_000;
    while (existsSync(`/proc/${host.pid}`) && Date.now() < reapedBy) await new Promise((r) => setTimeout(r, 50));
    assert.equal(existsSync(`/proc/${host.pid}`), false, "holder gone");
  });

  test("two hosts in their own network namespaces share one etcd cluster store", async () => {
    const lab = await createLab({ name: "harness" });
    const etcdDir = makeTestDir("etcd");
    const etcd = await startEtcd({ dir: etcdDir, host: lab.hub, listenIp: lab.hubIp });
    log(`etcd healthy after ${etcd.startMs} ms at ${etcd.clientUrl} (in ${lab.hub.netns})`);

    const [a, b] = await Promise.all([
      createHost({ name: "a", netns: true, lab }),
      createHost({ name: "b", netns: true, lab }),
    ]);
    assert.ok(a.address && b.address);
    assert.notEqual(a.netNs, b.netNs);
    assert.notEqual(a.netNs, nsId("self", "net"));
    // The lab links them: a reaches b and the hub; the root namespace is not involved.
    await a.execOk("/bin/busybox", ["ping", "-c", "1", "-W", "2", b.address]);
    await b.execOk("/bin/busybox", ["ping", "-c", "1", "-W", "2", lab.hubIp]);
    assert.equal((await a.exec("ip", ["-o", "link", "show", "lab0"])).code, 0);
    // /sys belongs to the host's netns but keeps the cgroup hierarchy dockerd needs.
    assert.deepEqual((await a.execOk("ls", ["/sys/class/net"])).split("\n").filter(Boolean).sort(), ["lab0", "lo"]);
    assert.equal((await a.exec("test", ["-d", "/sys/fs/cgroup/devices"])).code, 0);

    const t0 = Date.now();
    const start = (h: typeof a, tag: string) =>
      startDockerd(h, {
        dir: makeTestDir(tag),
        clusterStore: etcd.clusterStore,
        clusterAdvertise: `${h.address}:2376`,
      });
    const [da, db] = await Promise.all([start(a, "a"), start(b, "b")]);
    log(`two cluster-store dockerds answered after ${Date.now() - t0} ms (${da.startMs}, ${db.startMs})`);
    for (const d of [da, db]) {
      const info = await d.dockerOk(["info", "--format", "{{.ClusterStore}} {{.ClusterAdvertise}}"]);
      assert.equal(info.trim(), `${etcd.clusterStore} ${d.host.address}:2376`);
    }
    // Both registered themselves in the store, through the lab.
    const nodes = await waitForNodes(etcd, 2);
    assert.ok(nodes.includes(`${a.address}:2376`) && nodes.includes(`${b.address}:2376`), nodes.join(","));

    // Global-scope networks live in the shared store: created on a, listed on b.
    await da.dockerOk(["network", "create", "-d", "overlay", "--subnet", "10.199.0.0/24", "harness-global"]);
    const onB = await waitForValue(async () => {
      const ls = await db.dockerOk([
        "network",
        "ls",
        "--filter",
        "name=harness-global",
        "--format",
        "{{.Name}} {{.Scope}}",
      ]);
      return ls.trim() === "harness-global global" ? ls : undefined;
    });
    assert.ok(onB);
    await da.dockerOk(["network", "rm", "harness-global"]);

    const s0 = Date.now();
    await Promise.all([da.stop(), db.stop()]);
    log(`two dockerds stopped in ${Date.now() - s0} ms`);
    for (const d of [da, db]) {
      assert.deepEqual(processesOf(d.dir), []);
      assert.deepEqual(mountsUnder(d.host.pid, d.dir), []);
    }
    await etcd.stop();
    await Promise.all([a.destroy(), b.destroy()]);
    await lab.destroy();
    for (const h of [a, b, lab.hub]) {
      assert.equal(existsSync(h.netnsPath!), false, `${h.netns} deleted`);
      assert.equal(h.members().size, 0);
    }
  });
});

async function waitForValue<T>(fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

async function waitForNodes(
  etcd: { get(p: string): Promise<{ status: number; body: string }> },
  n: number,
): Promise<string[]> {
  let nodes: string[] = [];
  await waitForValue(async () => {
    const r = await etcd.get("/v2/keys/docker/nodes");
    if (r.status !== 200) return undefined;
    const body = JSON.parse(r.body) as { node?: { nodes?: { key: string }[] } };
    nodes = (body.node?.nodes ?? []).map((x) => x.key.split("/").pop() ?? "");
    return nodes.length >= n ? nodes : undefined;
  });
  return nodes;
}
