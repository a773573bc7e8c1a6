/**
 * An offline container image built from the machine's static busybox (busybox-static):
 * /bin/busybox plus a symlink per applet (sh, ping, ip, ifconfig, sleep, true, cat,
 * hostname, wget, nc, ...), imported with `docker import`. No registry needed.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Dockerd } from "./dockerd.js";
import { runOk } from "./proc.js";

export const BUSYBOX_IMAGE = "nuage-test/busybox:latest";
const BUSYBOX = "/bin/busybox";
const PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const inflight = new WeakMap<Dockerd, Promise<string>>();

export interface BusyboxImageOptions {
  /** Further tags for the same image, e.g. ["busybox:latest"] so README commands work. */
  tags?: readonly string[];
}

/** Makes sure the daemon has nuage-test/busybox:latest (and the extra tags); returns the image name. Idempotent. */
export function ensureBusyboxImage(dockerd: Dockerd, opts: BusyboxImageOptions = {}): Promise<string> {
  let p = inflight.get(dockerd);
  if (!p) {
    p = build(dockerd).finally(() => inflight.delete(dockerd));
    inflight.set(dockerd, p);
  }
  return p.then(async (image) => {
    for (const tag of opts.tags ?? []) {
      if ((await dockerd.docker(["image", "inspect", "--format", "{{.Id}}", tag])).code !== 0) {
        await dockerd.dockerOk(["tag", image, tag]);
      }
    }
    return image;
  });
}

async function build(dockerd: Dockerd): Promise<string> {
  if ((await dockerd.docker(["image", "inspect", "--format", "{{.Id}}", BUSYBOX_IMAGE])).code === 0)
    return BUSYBOX_IMAGE;
  const work = mkdtempSync(join(dockerd.dir, "busybox-"));
  try {
    const root = join(work, "rootfs");
    for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "run", "var", "usr/bin", "sbin"]) {
      mkdirSync(join(root, d), { recursive: true });
    }
    copyFileSync(BUSYBOX, join(root, "bin/busybox"));
    const applets = (await runOk(BUSYBOX, ["--list"]))
      .split("\n")
      .filter((a) => /^[\w.[-]+$/.test(a) && a !== "busybox");
    for (const a of applets) symlinkSync("busybox", join(root, "bin", a));
    writeFileSync(
      join(root, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    );
    writeFileSync(join(root, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
    const tar = join(work, "rootfs.tar");
    await runOk("tar", ["-C", root, "--numeric-owner", "--owner=0", "--group=0", "-cf", tar, "."]);
    await dockerd.dockerOk(["import", "--change", 'CMD ["sh"]', "--change", `ENV PATH=${PATH}`, tar, BUSYBOX_IMAGE]);
    return BUSYBOX_IMAGE;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
