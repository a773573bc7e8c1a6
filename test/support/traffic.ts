/**
 * Traffic between two running busybox containers beyond ping: a TCP request and its
 * answer, and a UDP datagram and its answer.
 *
 * ICMP alone proves little: its checksum is computed in software, while a veth leaves TCP's
 * and UDP's to offload, so a datapath that mishandles offloaded checksums passes ping and
 * drops every TCP segment and UDP datagram.
 *
 * - TCP: the server is busybox `nc -l -e wc -c` (it answers the number of bytes it read); the
 *   client sends 200,000 bytes, so the request spans many segments (and offloaded
 *   segmentation), and the answer must be "200000".
 * - UDP: busybox has no UDP server (its nc is TCP only), so the datagram goes to a closed port
 *   with `traceroute -m 1`: the receiving kernel answers with ICMP port unreachable only after
 *   the UDP checksum checks out (a datagram with a bad one is counted in its
 *   `Udp: InCsumErrors` and dropped, and traceroute prints `*`). The receiver's InCsumErrors
 *   must not grow either.
 */
import assert from "node:assert/strict";
import { sleep } from "./proc.js";

type Run = (args: readonly string[]) => Promise<{ code: number; stdout: string; stderr: string }>;

export interface TrafficBed {
  /** `docker …` against the bed's daemon. */
  docker: Run;
}

const TCP_PORT = 7070;
const TCP_BYTES = 200_000;

/** c → server over TCP: a 200,000-byte request answered with its length. Returns the answer. */
export async function tcpExchange(bed: TrafficBed, client: string, server: string, serverIp: string): Promise<string> {
  const listen = await bed.docker(["exec", "-d", server, "nc", "-l", "-p", String(TCP_PORT), "-e", "wc", "-c"]);
  assert.equal(listen.code, 0, `nc -l in ${server}: ${listen.stderr}`);
  let last = { code: -1, stdout: "", stderr: "" };
  // `docker exec -d` returns once the process started, perhaps before it listens: a refused
  // connection leaves the one-shot listener in place, so try again briefly.
  for (let attempt = 0; attempt < 10; attempt++) {
    last = await bed.docker([
      "exec",
      client,
      "sh",
      "-c",
      `head -c ${TCP_BYTES} /dev/zero | nc -w 5 ${serverIp} ${TCP_PORT}`,
    ]);
    if (last.stdout.trim() !== "" || !/refused/i.test(last.stderr)) break;
    await sleep(200);
  }
  assert.equal(
    last.stdout.trim(),
    String(TCP_BYTES),
    `${client} → ${server} (${serverIp}) over TCP: expected the answer ${TCP_BYTES}, got ${JSON.stringify(last.stdout)} (exit ${last.code}) ${last.stderr}`,
  );
  return last.stdout.trim();
}

async function udpChecksumErrors(bed: TrafficBed, container: string): Promise<number> {
  const r = await bed.docker(["exec", container, "cat", "/proc/net/snmp"]);
  assert.equal(r.code, 0, `cat /proc/net/snmp in ${container}: ${r.stderr}`);
  const [names, values] = r.stdout.split("\n").filter((l) => l.startsWith("Udp:"));
  const i = names?.split(/\s+/).indexOf("InCsumErrors") ?? -1;
  assert.ok(i > 0 && values, `${container}'s /proc/net/snmp has Udp: InCsumErrors`);
  return Number(values.split(/\s+/)[i]);
}

/** c → server: one UDP datagram to a closed port, answered by the server's kernel (ICMP port unreachable). */
export async function udpExchange(bed: TrafficBed, client: string, server: string, serverIp: string): Promise<void> {
  const before = await udpChecksumErrors(bed, server);
  const r = await bed.docker(["exec", client, "traceroute", "-n", "-q", "1", "-w", "3", "-m", "1", serverIp]);
  const hop = r.stdout
    .split("\n")
    .find((l) => /^\s*1\s/.test(l))
    ?.trim();
  assert.match(
    hop ?? "",
    new RegExp(`^1\\s+${serverIp.replaceAll(".", "\\.")}\\s`),
    `${client} → ${server} (${serverIp}) over UDP: no answer to the datagram: ${r.stdout}${r.stderr}`,
  );
  assert.equal(
    await udpChecksumErrors(bed, server),
    before,
    `${server} dropped UDP datagrams with a bad checksum (Udp: InCsumErrors grew)`,
  );
}

/** TCP and UDP, client → server. */
export async function expectTcpAndUdp(
  bed: TrafficBed,
  client: string,
  server: string,
  serverIp: string,
): Promise<void> {
  await tcpExchange(bed, client, server, serverIp);
  await udpExchange(bed, client, server, serverIp);
}
