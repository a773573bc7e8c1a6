/**
 * A stand-in for Nuage's Go plugin (nuage-libnetwork in Go, "NLN"), for the migration test: it
 * serves Docker as NLN did and writes, in OVSDB and in the VSD, what the reference says NLN
 * writes (../shared/reference/nln.md §3, §4), so that a test can start from a host in NLN's
 * state. Run inside a test host: `node nln-standin.js '<json settings>'`; prints one ready line.
 *
 * - `nuage-ipam.sock` (IpamDriver) and `nuage.sock` (NetworkDriver), each with its own Activate.
 * - RequestPool: PoolID `md5(organization+domain+subnet)-<10 hex>`; the VSD subnet looked up by name.
 * - RequestAddress: `POST /containers` {UUID = name = 64 random hex, interfaces: [{name
 *   "nln<n>-1", MAC, IPAddress?, attachedNetworkID}]}; the gateway answered locally.
 * - CreateEndpoint answers the MAC of that interface; Join makes veth `nln<n>-1`/`nln<n>-2`.
 * - Docker's `network connect` event: `PUT /containers/<ID>` (whole object, UUID = the Docker
 *   container ID, name, orchestrationID); env NUAGE-POLICY-GROUP → `GET /policygroups` (global)
 *   and `PUT /vports/<ID>/policygroups`; then `ovs-vsctl --no-wait --if-exists del-port --
 *   add-port` with NLN's Interface external-ids, and NLN's Nuage_Port_Table and
 *   Nuage_VM_Table rows (split activation: nuage-extension "true").
 * - ReleaseAddress: `DELETE /containers/<ID>`, the two rows, `del-port`, the veth.
 *
 * Two departures, for the VSD the sandbox simulates after Nuage's published specification:
 * the create carries `orchestrationID` (required by the specification, NLN left it out) and
 * each container gets its own `externalID` (`<hostname>-<system-id>-<n>`; NLN gave all of a
 * host's the same, which the specification's uniqueness refuses). The plugin reads neither.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { hostname } from "node:os";
import { join } from "node:path";
import { mkdir, rm } from "node:fs/promises";
import { promisify } from "node:util";
import { DockerEngine } from "../../src/docker/engine.js";
import { connectOvsdb } from "../../src/vrs/ovsdb/client.js";
import { mapToObject, ovsMap, ovsSet } from "../../src/vrs/ovsdb/values.js";
import { VsdClient, vsdPath } from "../../src/vsd/client.js";
import { vsdEqualsLookup } from "../../src/vsd/filter.js";
import { VsdContainerInterfaceSchema } from "../../src/vsd/types.js";

const run = promisify(execFile);

export interface StandinSettings {
  pluginDir: string;
  ovsdbSocket: string;
  bridge: string;
  dockerEndpoint: string;
  vsdUrl: string;
  vsdCaFile: string;
  vsdOrganization: string;
  vsdUser: string;
  vsdPassword: string;
}

interface Pool {
  organization: string;
  domain: string;
  zone: string;
  subnet: string;
  subnetId: string;
  cidr: string;
  prefix: number;
  gateway: string;
}

interface Address {
  n: number;
  port: string;
  peer: string;
  mac: string;
  ip: string;
  vsdId: string;
  vportId: string;
  pool: string;
}

const s = JSON.parse(process.argv[2] ?? "{}") as StandinSettings;
const vsd = new VsdClient({
  url: s.vsdUrl,
  organization: s.vsdOrganization,
  user: s.vsdUser,
  password: s.vsdPassword,
  caFile: s.vsdCaFile,
});
const docker = new DockerEngine(s.dockerEndpoint, 10_000);
const ovsdb = await connectOvsdb({ kind: "unix", path: s.ovsdbSocket });
const pools = new Map<string, Pool>();
const addresses = new Map<string, Address>(); // `${poolId} ${ip}` → what RequestAddress made
const endpoints = new Map<string, Address>(); // EndpointID → address
let seq = 0;

/** NLN's host ID: `<hostname>-<first external_ids value of the Open_vSwitch row, by key>` (normally system-id). */
const [ovsRow] = await ovsdb.transact("Open_vSwitch", [
  { op: "select", table: "Open_vSwitch", where: [], columns: ["external_ids"] },
]);
const ext = mapToObject(ovsRow?.rows?.[0]?.external_ids);
const hostId = `${hostname()}-${ext[Object.keys(ext).sort()[0] ?? ""] ?? ""}`;

const hex = (bytes: number): string => randomBytes(bytes).toString("hex");
function nlnMac(): string {
  const h = createHash("md5").update(hostname()).digest();
  const b = [(randomBytes(1)[0]! & 0xfe) | 0x02, h[0]!, h[1]!, ...randomBytes(3)];
  return b.map((x) => x.toString(16).padStart(2, "0")).join(":");
}
const ipNum = (ip: string): number => ip.split(".").reduce((a, o) => a * 256 + Number(o), 0);
const ipStr = (n: number): string => [24, 16, 8, 0].map((sh) => (n >>> sh) & 255).join(".");

async function requestPool(req: { Pool?: string; Options?: Record<string, string> | null }): Promise<unknown> {
  const o = req.Options ?? {};
  for (const k of ["organization", "domain", "zone", "subnet", "user"])
    if (!o[k]) throw new Error(`Validating nuage params failed with error: ${k} required`);
  const [net, prefix] = (req.Pool ?? "").split("/");
  if (!net || !prefix) throw new Error("invalid CIDR address");
  const { subnet } = await vsd.findSubnetByPath({
    enterprise: o.organization!,
    domain: o.domain!,
    zone: o.zone!,
    subnet: o.subnet!,
  });
  const id = `${createHash("md5")
    .update(o.organization! + o.domain! + o.subnet!)
    .digest("hex")}-${hex(5)}`;
  pools.set(id, {
    organization: o.organization!,
    domain: o.domain!,
    zone: o.zone!,
    subnet: o.subnet!,
    subnetId: subnet.ID,
    cidr: req.Pool!,
    prefix: Number(prefix),
    gateway: ipStr(ipNum(net) + 1),
  });
  return { PoolID: id, Pool: req.Pool, Data: {} };
}

async function requestAddress(req: {
  PoolID: string;
  Address?: string;
  Options?: Record<string, string> | null;
}): Promise<unknown> {
  const pool = pools.get(req.PoolID);
  if (!pool) throw new Error(`unknown pool ${req.PoolID}`);
  if (req.Options?.RequestAddressType === "com.docker.network.gateway") {
    if (req.Address) pool.gateway = req.Address;
    return { Address: `${pool.gateway}/${pool.prefix}`, Data: {} };
  }
  const n = ++seq;
  const port = `nln${n.toString(16)}-1`;
  const uuid = hex(32);
  const mac = nlnMac();
  const c = await vsd.create(
    "",
    "containers",
    {
      UUID: uuid,
      name: uuid,
      externalID: `${hostId}-${n}`,
      orchestrationID: uuid,
      computeProvisioned: false,
      interfaces: [
        { name: port, MAC: mac, ...(req.Address ? { IPAddress: req.Address } : {}), attachedNetworkID: pool.subnetId },
      ],
    },
    {},
  );
  const ifaces = await vsd.list(vsdPath("containers", c.ID, "containerinterfaces"), {
    schema: VsdContainerInterfaceSchema,
  });
  const iface = ifaces.find((i) => i.name === port)!;
  const a: Address = {
    n,
    port,
    peer: `nln${n.toString(16)}-2`,
    mac,
    ip: String(iface.IPAddress),
    vsdId: c.ID,
    vportId: String(iface.VPortID ?? ""),
    pool: req.PoolID,
  };
  addresses.set(`${req.PoolID} ${a.ip}`, a);
  return { Address: `${a.ip}/${pool.prefix}`, Data: {} };
}

async function releaseAddress(req: { PoolID: string; Address: string }): Promise<unknown> {
  const a = addresses.get(`${req.PoolID} ${req.Address}`);
  if (!a) return {};
  addresses.delete(`${req.PoolID} ${req.Address}`);
  await vsd.deleteContainer(a.vsdId);
  await ovsdb.transact("Open_vSwitch", [
    { op: "delete", table: "Nuage_VM_Table", where: [["ports", "includes", a.port]] },
    { op: "delete", table: "Nuage_Port_Table", where: [["name", "==", a.port]] },
  ]);
  await vsctl("--if-exists", "del-port", a.port);
  await run("ip", ["link", "del", a.port]).catch(() => undefined);
  return {};
}

const vsctl = (...args: string[]) => run("ovs-vsctl", [`--db=unix:${s.ovsdbSocket}`, "--no-wait", ...args]);

/** The `network connect` event: name the VSD container, the policy group, then the VRS rows. */
async function connected(networkId: string, containerId: string): Promise<void> {
  const c = await docker.inspectContainer(containerId);
  const ep = Object.values(c?.NetworkSettings?.Networks ?? {}).find((e) => e.NetworkID === networkId);
  const a = ep && [...endpoints.values()].find((x) => x.ip === ep.IPAddress);
  if (!c || !a) return;
  const name = c.Name.replace(/^\//, "");
  const env = c.Config?.Env ?? [];
  const value = (key: string): string | undefined => env.find((e) => e.includes(key))?.split("=")[1];
  const current = await vsd.get(vsdPath("containers", a.vsdId));
  await vsd.update(vsdPath("containers", a.vsdId), {
    ...current,
    UUID: c.Id,
    name,
    // NLN's client omits an empty orchestrationID (omitempty): the container keeps the one it has.
    orchestrationID: value("MESOS_TASK_ID") ?? current.orchestrationID,
  });
  const pg = value("NUAGE-POLICY-GROUP");
  if (pg) {
    const { filter } = vsdEqualsLookup("name", pg);
    const found = (await vsd.list("/policygroups", { filter })).filter((g) => g.name === pg);
    if (found.length === 0) throw new Error(`Policy ${pg} is not found on VSD`);
    await vsd.assign(
      vsdPath("vports", a.vportId, "policygroups"),
      found.map((g) => g.ID),
    );
  }
  const pool = pools.get(a.pool)!;
  await vsctl(
    "--if-exists",
    "del-port",
    a.port,
    "--",
    "add-port",
    s.bridge,
    a.port,
    "--",
    "set",
    "Interface",
    a.port,
    `external-ids:vm_uuid=${c.Id}`,
    `external-ids:vm_name=${name}`,
    `external-ids:NUAGE-ENTERPRISE=${pool.organization}`,
    `external-ids:NUAGE-DOMAIN=${pool.domain}`,
    `external-ids:NUAGE-NETWORK=${pool.subnet}`,
  );
  const [res] = await ovsdb.transact("Open_vSwitch", [
    {
      op: "insert",
      table: "Nuage_Port_Table",
      row: {
        name: a.port,
        mac: a.mac,
        bridge: s.bridge,
        vm_domain: 4,
        metadata: ovsMap({
          "nuage-enterprise-domain": "",
          "nuage-enterprise-network": "",
          "nuage-enterprise-zone": "",
          "nuage-enterprise-network-type": "",
        }),
      },
    },
    {
      op: "insert",
      table: "Nuage_VM_Table",
      row: {
        vm_uuid: c.Id,
        vm_name: name,
        type: 4,
        domain: 4,
        event: 0,
        event_type: 0,
        state: 1,
        reason: 0,
        metadata: ovsMap({ "nuage-extension": "true", enterprise: "" }),
        ports: ovsSet([a.port]),
      },
    },
  ]);
  if (res && "error" in res && res.error) throw new Error(`OVSDB: ${JSON.stringify(res)}`);
}

const network: Record<string, (b: Record<string, unknown>) => Promise<unknown>> = {
  "Plugin.Activate": async () => ({ Implements: ["NetworkDriver"] }),
  "NetworkDriver.GetCapabilities": async () => ({ Scope: "local" }),
  "NetworkDriver.CreateNetwork": async () => ({}),
  "NetworkDriver.DeleteNetwork": async () => ({}),
  "NetworkDriver.CreateEndpoint": async (b) => {
    const ip = String((b.Interface as { Address?: string } | undefined)?.Address ?? "").split("/")[0];
    if (!ip) throw new Error("Empty IP address passed to CreateEndpoint method in driver");
    const a = [...addresses.values()].find((x) => x.ip === ip);
    if (!a) throw new Error(`Finding mac address for ip ${ip} failed`);
    endpoints.set(String(b.EndpointID), a);
    return { Interface: { MacAddress: a.mac } };
  },
  "NetworkDriver.DeleteEndpoint": async (b) => {
    endpoints.delete(String(b.EndpointID));
    return {};
  },
  "NetworkDriver.EndpointOperInfo": async () => ({ Value: {} }),
  "NetworkDriver.Join": async (b) => {
    const a = endpoints.get(String(b.EndpointID));
    if (!a) throw new Error("Join Request failed with error: cannot find endpointID in cache");
    await run("ip", ["link", "del", a.port]).catch(() => undefined);
    await run("ip", ["link", "add", a.port, "type", "veth", "peer", "name", a.peer]);
    await run("ip", ["link", "set", a.port, "up"]);
    return { InterfaceName: { SrcName: a.peer, DstPrefix: "eth" }, Gateway: pools.get(a.pool)!.gateway };
  },
  "NetworkDriver.Leave": async () => ({}),
  "NetworkDriver.ProgramExternalConnectivity": async () => ({}),
  "NetworkDriver.RevokeExternalConnectivity": async () => ({}),
  "NetworkDriver.DiscoverNew": async () => ({}),
  "NetworkDriver.DiscoverDelete": async () => ({}),
};
const ipam: Record<string, (b: Record<string, unknown>) => Promise<unknown>> = {
  "Plugin.Activate": async () => ({ Implements: ["IpamDriver"] }),
  "IpamDriver.GetCapabilities": async () => ({ RequiresMACAddress: false }),
  "IpamDriver.GetDefaultAddressSpaces": async () => ({
    LocalDefaultAddressSpace: "local",
    GlobalDefaultAddressSpace: "global",
  }),
  "IpamDriver.RequestPool": (b) => requestPool(b),
  "IpamDriver.ReleasePool": async () => ({}),
  "IpamDriver.RequestAddress": (b) => requestAddress(b as never),
  "IpamDriver.ReleaseAddress": (b) => releaseAddress(b as never),
};

/** NLN's error envelope: HTTP 500 {"Error": "..."} for both drivers (nln.md §6). */
async function serve(path: string, routes: typeof network): Promise<void> {
  await rm(path, { force: true });
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      const route = routes[(req.url ?? "").slice(1)];
      const answer = (status: number, v: unknown): void => {
        res.writeHead(status, { "Content-Type": "application/vnd.docker.plugins.v1+json" });
        res.end(JSON.stringify(v));
      };
      if (!route) return answer(404, { Err: "not found" });
      route(body ? (JSON.parse(body) as Record<string, unknown>) : {}).then(
        (v) => answer(200, v),
        (err: Error) => answer(500, { Error: err.message }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
}

await mkdir(s.pluginDir, { recursive: true });
await serve(join(s.pluginDir, "nuage.sock"), network);
await serve(join(s.pluginDir, "nuage-ipam.sock"), ipam);
const events = new AbortController();
void docker.followEvents(
  { type: ["network"], event: ["connect"] },
  (e) => {
    if (e.Actor.Attributes.type !== "nuage") return;
    connected(e.Actor.ID, String(e.Actor.Attributes.container)).catch((err: Error) =>
      process.stderr.write(`network connect: ${err.message}\n`),
    );
  },
  events.signal,
);
process.stdout.write(`${JSON.stringify({ ready: true, hostId })}\n`);
// NLN on SIGTERM: exits after a moment, removing nothing (nln.md §1).
process.once("SIGTERM", () => process.exit(0));
