/**
 * Veth create/delete three ways, alternated in rounds within one run (issue 12, "links
 * without processes"):
 *  - exec:    one `ip` process per command (execFile, the fallback),
 *  - batch:   one long-lived `ip -force -batch -` co-process (src/host/ip-batch.ts),
 *  - netlink: the npm `netlink` package (rtnetlink over a native socket binding), when it is
 *             installed (`npm install --no-save netlink`, or NETLINK_MODULE=/path/to/netlink/dist/index.js);
 *             it is not a dependency of the plugin.
 *
 *   node dist/bench/links-micro.js [--cycles N]     (root; runs itself in a private network namespace)
 *
 * Per cycle: create the pair (host end up, peer name, peer MAC, MTU 1450 on both), delete the
 * host end (the kernel takes the peer along). Prints p50/p99 of each step and the CPU per cycle of
 * this process and of its children (the co-process's share is read from /proc).
 */
import { execFile, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { parseArgs, promisify } from "node:util";
import { IpBatch } from "../src/host/ip-batch.js";
import { summarize } from "./lib/stats.js";

const execFileP = promisify(execFile);

interface Links {
  create(host: string, peer: string, mac: string, mtu: number): Promise<void>;
  del(name: string): Promise<void>;
  /** CPU ms used so far by processes this mode started (not this process). */
  childCpuMs(): number;
  close(): void;
}

const CLK_TCK = 100;
function procCpuMs(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return 0;
  }
}
/** CPU of reaped children of this process (utime+stime of waited-for children), ms. */
function reapedChildrenCpuMs(): number {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return ((Number(f[13]) + Number(f[14])) * 1000) / CLK_TCK;
}

function execLinks(): Links {
  const ip = async (args: string[]): Promise<void> => {
    await execFileP("ip", args, { timeout: 10_000 });
  };
  return {
    create: (h, p, mac, mtu) =>
      ip([
        "link",
        "add",
        h,
        "mtu",
        String(mtu),
        "up",
        "type",
        "veth",
        "peer",
        "name",
        p,
        "address",
        mac,
        "mtu",
        String(mtu),
      ]),
    del: (n) => ip(["link", "del", n]),
    childCpuMs: reapedChildrenCpuMs,
    close: () => undefined,
  };
}

function batchLinks(): Links {
  const b = new IpBatch();
  return {
    create: (h, p, mac, mtu) =>
      b.run([
        "link",
        "add",
        h,
        "mtu",
        String(mtu),
        "up",
        "type",
        "veth",
        "peer",
        "name",
        p,
        "address",
        mac,
        "mtu",
        String(mtu),
      ]),
    del: (n) => b.run(["link", "del", n]),
    childCpuMs: () => procCpuMs((b as unknown as { child?: { pid?: number } }).child?.pid),
    close: () => b.close(),
  };
}

/** Netlink attribute: 4-byte header, payload, padded to 4. */
function nla(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const b = Buffer.alloc((len + 3) & ~3);
  b.writeUInt16LE(len, 0);
  b.writeUInt16LE(type, 2);
  payload.copy(b, 4);
  return b;
}
const IFLA_ADDRESS = 1,
  IFLA_IFNAME = 3,
  IFLA_MTU = 4,
  IFLA_INFO_KIND = 1,
  IFLA_INFO_DATA = 2,
  VETH_INFO_PEER = 1;
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);

async function netlinkLinks(): Promise<Links | undefined> {
  // biome-ignore lint/suspicious/noExplicitAny: an optional package without types, loaded by path
  let mod: any;
  try {
    // A path to the package's entry file, or the package name when it is installed here.
    const name = process.env.NETLINK_MODULE ?? "netlink";
    const m = await import(name);
    mod = m.default ?? m;
  } catch {
    return undefined;
  }
  const sock = mod.createRtNetlink();
  const CREATE_EXCL = 0x400 | 0x200;
  return {
    async create(h, p, mac, mtu) {
      // The peer's part is a raw ifinfomsg + attributes: the package types it as an opaque Buffer.
      const peer = Buffer.concat([
        Buffer.alloc(16),
        nla(IFLA_IFNAME, cstr(p)),
        nla(IFLA_ADDRESS, Buffer.from(mac.split(":").map((x) => parseInt(x, 16)))),
        nla(IFLA_MTU, u32(mtu)),
      ]);
      const linkinfo = Buffer.concat([
        nla(IFLA_INFO_KIND, cstr("veth")),
        nla(IFLA_INFO_DATA, nla(VETH_INFO_PEER, peer)),
      ]);
      await sock.newLink(
        { flags: { up: true }, change: { up: true } },
        { ifname: h, mtu, linkinfo },
        { flags: CREATE_EXCL, timeout: 10_000 },
      );
    },
    async del(n) {
      await sock.delLink({}, { ifname: n }, { timeout: 10_000 });
    },
    childCpuMs: () => 0,
    close: () => sock.socket.close(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { cycles: { type: "string" }, inner: { type: "boolean" } }, strict: true });
  const cycles = Number(values.cycles ?? 300);
  if (!values.inner) {
    // A private network namespace: the links never touch the host's.
    const r = spawnSync(
      "unshare",
      ["--net", process.execPath, process.argv[1]!, "--inner", "--cycles", String(cycles)],
      { stdio: "inherit" },
    );
    process.exit(r.status ?? 1);
  }
  spawnSync("ip", ["link", "set", "lo", "up"]);
  const modes: [string, Links][] = [
    ["exec", execLinks()],
    ["batch", batchLinks()],
  ];
  const nl = await netlinkLinks();
  if (nl) modes.push(["netlink", nl]);
  else process.stdout.write("netlink: the npm package is not installed (npm install --no-save netlink): skipped\n");

  const t: Record<string, { create: number[]; del: number[]; cycle: number[]; cpu: number; child: number; n: number }> =
    {};
  for (const [m] of modes) t[m] = { create: [], del: [], cycle: [], cpu: 0, child: 0, n: 0 };
  const ROUND = 10;
  let k = 0;
  for (let round = 0; round * ROUND < cycles; round++) {
    for (let i = 0; i < modes.length; i++) {
      const [name, links] = modes[(i + round) % modes.length]!;
      const rec = t[name]!;
      const cpu0 = process.cpuUsage();
      const child0 = links.childCpuMs();
      for (let j = 0; j < ROUND; j++) {
        const hex = (k++).toString(16).padStart(12, "0");
        const t0 = performance.now();
        await links.create(
          `nuh${hex}`,
          `nuc${hex}`,
          `02:00:00:${hex.slice(6, 8)}:${hex.slice(8, 10)}:${hex.slice(10, 12)}`,
          1450,
        );
        const t1 = performance.now();
        await links.del(`nuh${hex}`);
        const t2 = performance.now();
        if (round > 0) {
          rec.create.push(t1 - t0);
          rec.del.push(t2 - t1);
          rec.cycle.push(t2 - t0);
        }
      }
      if (round > 0) {
        const c = process.cpuUsage(cpu0);
        rec.cpu += (c.user + c.system) / 1000;
        rec.child += links.childCpuMs() - child0;
        rec.n += ROUND;
      }
    }
  }
  for (const [name, links] of modes) {
    const r = t[name]!;
    const c = summarize(r.create),
      d = summarize(r.del),
      y = summarize(r.cycle);
    process.stdout.write(
      `${name.padEnd(8)} create p50 ${c.p50} p99 ${c.p99} · delete p50 ${d.p50} p99 ${d.p99} · cycle p50 ${y.p50} p99 ${y.p99} ms · ` +
        `CPU per cycle: this process ${(r.cpu / r.n).toFixed(2)} ms, children ${(r.child / r.n).toFixed(2)} ms (n=${r.n})\n`,
    );
    links.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? err.message}\n`);
  process.exit(1);
});
