/**
 * A stand-in VSC for the sandbox's Open vSwitch (ovs-host.ts): a minimal OpenFlow 1.3 controller on
 * a unix socket that asks for the master role and installs one `priority=0 actions=NORMAL` flow (a
 * learning switch, honouring port VLAN tags). ovs-vswitchd owns the Controller row's `role` column
 * and clears it for a controller that is not connected; this keeps it "master", as the Nuage plugins
 * expect of a VRS connected to its VSC (vrs-ovsdb.md §7).
 *
 * It runs as its own process: `node fake-vsc.js --nuage-sandbox-fake-vsc SOCKET PIDFILE MASTERFILE`.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { settle } from "../proc.js";

/** Marks the process's command line, so that ovs-host.ts recognises it among the daemons of its state folder. */
export const FAKE_VSC_ARG = "--nuage-sandbox-fake-vsc";

/** Where a stand-in VSC keeps its socket, pidfile, log and the file it writes once it holds the master role. */
export interface FakeVscPaths {
  vscSock: string;
  vscPid: string;
  vscMaster: string;
  vscLog: string;
}

/** Starts the stand-in VSC as a detached process; `running` finds its pid once it is up. */
export async function startFakeVsc(p: FakeVscPaths, running: () => number | undefined): Promise<number> {
  rmSync(p.vscPid, { force: true });
  const logFd = openSync(p.vscLog, "a");
  try {
    const child = spawn(
      process.execPath,
      [fileURLToPath(import.meta.url), FAKE_VSC_ARG, p.vscSock, p.vscPid, p.vscMaster],
      {
        detached: true,
        stdio: ["ignore", logFd, logFd],
        cwd: "/",
        env: process.env,
      },
    );
    child.unref();
  } finally {
    closeSync(logFd);
  }
  let pid: number | undefined;
  const ok = await settle(() => (pid = running()) !== undefined && existsSync(p.vscSock), 5000);
  if (!ok || pid === undefined) throw new Error(`the stand-in VSC did not start; see ${p.vscLog}`);
  return pid;
}

/**
 * Minimal OpenFlow 1.3 controller (runs in its own process): on each switch
 * connection, HELLO, ROLE_REQUEST(master), FLOW_MOD(priority 0, NORMAL); answers
 * ECHO_REQUEST. Enough for ovs-vswitchd to report role=master, is_connected=true.
 */
function runFakeVsc(sockPath: string, pidPath: string, masterPath: string): void {
  const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} vsc: ${msg}\n`);
  const OFP13 = 0x04;
  let nextXid = 1;
  const frame = (type: number, body: Buffer, xid = nextXid++): Buffer => {
    const h = Buffer.alloc(8);
    h.writeUInt8(OFP13, 0);
    h.writeUInt8(type, 1);
    h.writeUInt16BE(8 + body.length, 2);
    h.writeUInt32BE(xid, 4);
    return Buffer.concat([h, body]);
  };
  const helloBody = (): Buffer => {
    const b = Buffer.alloc(8); // one OFPHET_VERSIONBITMAP element: only OpenFlow 1.3
    b.writeUInt16BE(1, 0);
    b.writeUInt16BE(8, 2);
    b.writeUInt32BE(1 << OFP13, 4);
    return b;
  };
  const roleRequestBody = (): Buffer => {
    const b = Buffer.alloc(16);
    b.writeUInt32BE(2, 0); // OFPCR_ROLE_MASTER
    b.writeBigUInt64BE(BigInt(Date.now()), 8); // generation_id: increases across restarts
    return b;
  };
  const normalFlowBody = (): Buffer => {
    const b = Buffer.alloc(72);
    // cookie, cookie_mask = 0; table 0; command OFPFC_ADD; timeouts 0; priority 0
    b.writeUInt32BE(0xffffffff, 24); // buffer_id: none
    b.writeUInt32BE(0xffffffff, 28); // out_port: any
    b.writeUInt32BE(0xffffffff, 32); // out_group: any
    b.writeUInt16BE(1, 40); // match: OFPMT_OXM
    b.writeUInt16BE(4, 42); // match length without padding (no fields)
    b.writeUInt16BE(4, 48); // instruction OFPIT_APPLY_ACTIONS
    b.writeUInt16BE(24, 50);
    b.writeUInt16BE(0, 56); // action OFPAT_OUTPUT
    b.writeUInt16BE(16, 58);
    b.writeUInt32BE(0xfffffffa, 60); // port OFPP_NORMAL
    return b;
  };
  const OFPT = { HELLO: 0, ERROR: 1, ECHO_REQUEST: 2, ECHO_REPLY: 3, FLOW_MOD: 14, ROLE_REQUEST: 24, ROLE_REPLY: 25 };

  rmSync(sockPath, { force: true });
  const server = net.createServer((conn) => {
    log("switch connected");
    let buf = Buffer.alloc(0);
    let started = false;
    conn.write(frame(OFPT.HELLO, helloBody()));
    conn.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        const len = buf.readUInt16BE(2);
        if (len < 8) {
          log("bad OpenFlow length; closing");
          conn.destroy();
          return;
        }
        if (buf.length < len) break;
        const msg = buf.subarray(0, len);
        buf = buf.subarray(len);
        const type = msg.readUInt8(1);
        const xid = msg.readUInt32BE(4);
        if (type === OFPT.HELLO && !started) {
          started = true;
          conn.write(frame(OFPT.ROLE_REQUEST, roleRequestBody()));
          conn.write(frame(OFPT.FLOW_MOD, normalFlowBody()));
        } else if (type === OFPT.ECHO_REQUEST) {
          conn.write(frame(OFPT.ECHO_REPLY, msg.subarray(8), xid));
        } else if (type === OFPT.ROLE_REPLY) {
          log("role master granted");
          writeFileSync(masterPath, `${Date.now()}\n`);
        } else if (type === OFPT.ERROR) {
          log(
            `error from switch: type ${msg.length >= 12 ? msg.readUInt16BE(8) : "?"} code ${msg.length >= 12 ? msg.readUInt16BE(10) : "?"}`,
          );
        }
      }
    });
    conn.on("error", (e) => log(`connection error: ${e.message}`));
    conn.on("close", () => log("switch disconnected"));
  });
  server.on("error", (e) => {
    log(`listen failed: ${e.message}`);
    process.exit(1);
  });
  server.listen(sockPath, () => {
    writeFileSync(pidPath, `${process.pid}\n`);
    log(`listening on ${sockPath}`);
  });
  const shutdown = () => {
    server.close();
    rmSync(sockPath, { force: true });
    rmSync(pidPath, { force: true });
    rmSync(masterPath, { force: true });
    process.exit(0);
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (
  process.argv[2] === FAKE_VSC_ARG &&
  process.argv[1] &&
  resolve(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  const [sock, pid, master] = process.argv.slice(3);
  if (!sock || !pid || !master) {
    process.stderr.write(`usage: ${FAKE_VSC_ARG} SOCKET PIDFILE MASTERFILE\n`);
    process.exit(2);
  }
  runFakeVsc(sock, pid, master);
}
