/**
 * The README's quick start, as written: the `docker …` lines of its "Quick start" section are
 * read from README.md itself (so the README cannot drift from what works) and run against a
 * test host with the sandbox and the plugin, as `scripts/sandbox-demo.sh` sets them up.
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "shell-quote";
import { NuageBed, REPO, expectNoOrphans } from "../support/nuage-bed.js";
import { BUSYBOX_IMAGE } from "../support/busybox-image.js";

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
before(async () => {
  bed = await NuageBed.start({ name: "quick" });
  await bed.dockerOk(["tag", BUSYBOX_IMAGE, "busybox:latest"]);
});
after(async () => {
  if (bed) await bed.stop();
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
  for (const argv of commands) {
    const r = await bed.docker(argv.slice(1));
    assert.equal(r.code, 0, `${argv.join(" ")}\n${r.stderr}`);
    if (argv[1] === "run" && argv.includes("addr")) {
      assert.match(r.stdout, /inet 10\.21\.59\.\d+\/24/, 'the container has an address of VSD subnet "Subnet 2"');
    }
  }
  await expectNoOrphans(bed, "the quick start");
});
