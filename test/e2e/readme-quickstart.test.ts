/**
 * The README's quick start, as written: the `docker …` lines of its "Quick start" section are
 * read from README.md itself (so the README cannot drift from what works) and run against a
 * test host with the sandbox and the plugin, as `scripts/sandbox-demo.sh` sets them up: a host with
 * no route out (an air-gapped site), whose busybox image comes from the demo's own import step.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "shell-quote";
import { NuageBed, REPO, expectNoOrphans } from "../support/nuage-bed.js";
import { runOk } from "../support/proc.js";

/** The `docker …` command lines of the README's "## Quick start" section, in order, as argument arrays. */
function quickStartCommands(readme: string): string[][] {
  const section = /^## Quick start\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  assert.ok(section, 'README.md has a "## Quick start" section');
  const lines = [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)].flatMap((m) => m[1]!.split("\n"));
  return lines
    .filter((l) => l.startsWith("docker "))
    .map((line) => {
      const argv = parse(line);
      assert.ok(
        argv.every((a): a is string => typeof a === "string"),
        `a plain command without shell operators: ${line}`,
      );
      return argv as string[];
    });
}

let bed: NuageBed;

/** The running container holding this address on a network, and its hostname. */
async function serverOf(ip: string): Promise<{ name: string; hostname: string }> {
  const ids = (await bed.dockerOk(["ps", "-q"])).split("\n").filter(Boolean);
  for (const id of ids) {
    const [name, hostname, ...ips] = (
      await bed.dockerOk([
        "inspect",
        "-f",
        "{{.Name}} {{.Config.Hostname}} {{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        id,
      ])
    )
      .trim()
      .split(/\s+/);
    if (ips.includes(ip)) return { name: name!.replace(/^\//, ""), hostname: hostname! };
  }
  assert.fail(`no running container has the address ${ip}`);
}

before(async () => {
  bed = await NuageBed.start({ name: "quick" });
});
after(async () => {
  if (bed) await bed.stop();
});

test("the host has no route to any registry, and the demo's image step imports busybox:latest from local files", async () => {
  // The bed's host is a network namespace with only lo and the plugin's bridge: nothing leads
  // out, as on an air-gapped site. Checked, so that a bed that gained a route fails here.
  const defaultRoute = await bed.host.exec("ip", ["-4", "route", "show", "default"]);
  assert.equal(defaultRoute.stdout.trim(), "", "the host has a default route");
  const toInternet = await bed.host.exec("ip", ["route", "get", "1.1.1.1"]);
  assert.notEqual(toInternet.code, 0, `the host has a route out: ${toInternet.stdout}`);
  assert.notEqual(
    (await bed.docker(["image", "inspect", "busybox:latest"])).code,
    0,
    "busybox:latest is not there before the demo's step",
  );
  // What scripts/sandbox-demo.sh runs, against the bed's dockerd.
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER: "/usr/bin/docker", DOCKER_HOST: bed.dockerd.endpoint };
  delete env.DOCKER_CONTEXT;
  const first = await runOk("bash", [join(REPO, "scripts/import-busybox.sh"), "busybox:latest"], { env });
  assert.match(first, /image busybox:latest: imported from \/bin\/busybox/);
  const again = await runOk("bash", [join(REPO, "scripts/import-busybox.sh"), "busybox:latest"], { env });
  assert.match(again, /image busybox:latest: present/);
  assert.ok(
    (await bed.dockerOk(["image", "ls", "--format", "{{.Repository}}:{{.Tag}}"]))
      .split("\n")
      .includes("busybox:latest"),
  );
});

test("the README's quick-start commands work as written against the sandbox", async () => {
  const commands = quickStartCommands(readFileSync(join(REPO, "README.md"), "utf8"));
  assert.ok(
    commands.some((c) => c[1] === "network" && c[2] === "create"),
    "the quick start creates a network",
  );
  assert.ok(
    commands.some((c) => c[1] === "run"),
    "the quick start runs a container",
  );
  assert.ok(
    commands.some((c) => c.includes("wget")) && commands.some((c) => c.includes("traceroute")),
    "the quick start has two containers talk over TCP (wget) and UDP (traceroute)",
  );
  for (const argv of commands) {
    const r = await bed.docker(argv.slice(1));
    assert.equal(r.code, 0, `${argv.join(" ")}\n${r.stderr}`);
    if (argv[1] === "run" && argv.includes("addr")) {
      assert.match(r.stdout, /inet 10\.21\.59\.\d+\/24/, 'the container has an address of VSD subnet "Subnet 2"');
    }
    // TCP: the answer is the server container's own hostname, so it came from there.
    if (argv[1] === "run" && argv.includes("wget")) {
      const web = argv.at(-1)!.split("/")[2]!;
      const server = await serverOf(web);
      assert.equal(r.stdout.trim(), server.hostname, `wget from ${web} answers ${server.name}'s hostname`);
    }
    // UDP: the closed port's ICMP answer names the server (a dropped datagram prints "*").
    if (argv[1] === "run" && argv.includes("traceroute")) {
      const target = argv.at(-1)!;
      assert.match(r.stdout, new RegExp(`^\\s*1\\s+${target.replaceAll(".", "\\.")}\\s`, "m"), r.stdout);
    }
  }
  await expectNoOrphans(bed, "the quick start");
});
