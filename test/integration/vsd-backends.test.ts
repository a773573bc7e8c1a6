/**
 * The VSD adapters of the IPAM and of the identity sync against the VSD simulator: what each
 * request carries (orchestrationID on create, one externalID per container, whole-object PUTs),
 * X-Nuage-ProxyUser with VsdProxyUser on and off, and VSD errors that name the attribute.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { startVsdSimulator, type VsdSimulator } from "../../sandbox/src/vsd-sim/server.js";
import { VsdClient, VsdError } from "../../src/vsd/client.js";
import { httpTransport, type HttpTransport } from "../../src/http/transport.js";
import { ipamVsd, reservationExternalId, vsdNamer } from "../../src/driver/vsd-backends.js";
import { ReservationRefused } from "../../src/driver/ipam-driver.js";

let sim: VsdSimulator;
let dir: string;
let subnetId: string;
const clients: VsdClient[] = [];
const TAG = "nuage-libnetwork-ipam@test-host";
const OWNER = { organization: "Enterprise", user: "admin" };

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: unknown;
}

/** A CSP client (as the sandbox's config logs in) whose every request is recorded. */
async function recordingClient(): Promise<{ client: VsdClient; sent: Sent[]; counted: () => number }> {
  let n = 0;
  const sent: Sent[] = [];
  const base = httpTransport({ origin: new URL(sim.url).origin }, { ca: await readFile(sim.caFile, "utf8") });
  const transport: HttpTransport = {
    request(r) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = v;
      const body = typeof r.body === "string" && r.body !== "" ? (JSON.parse(r.body) as unknown) : undefined;
      sent.push({ method: r.method, path: r.path.replace(/^\/nuage\/api\/v6/, ""), headers, body });
      return base.request(r);
    },
    close: () => base.close(),
  };
  const client = new VsdClient({
    url: sim.url,
    organization: "csp",
    user: "csproot",
    password: "csproot",
    transport,
    retry: { baseDelayMs: 10 },
    onRequest: () => n++,
  });
  clients.push(client);
  return { client, sent, counted: () => n };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vsd-backends-"));
  sim = await startVsdSimulator({ stateDir: dir, port: 0 });
  subnetId = String(sim.state().subnets.find((s) => s.name === "Subnet 2")!.ID);
});
after(async () => {
  for (const c of clients) await c.close();
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

const mac = (): string => `02:${randomBytes(5).toString("hex").match(/../g)!.join(":")}`;
const uuid = (): string => randomBytes(32).toString("hex");
const containerOf = (id: string) => sim.state().containers.find((c) => c.ID === id)!;

for (const proxyUser of [false, true]) {
  test(`VsdProxyUser = ${proxyUser}: create, rename and delete ${proxyUser ? "carry X-Nuage-ProxyUser Enterprise@admin" : "carry no X-Nuage-ProxyUser"}; each request as the spec wants it`, async () => {
    const { client, sent, counted } = await recordingClient();
    const ipam = ipamVsd(client, TAG, { proxyUser });
    const ids = [uuid(), uuid()];
    const made = [];
    for (const id of ids) {
      made.push(
        await ipam.reserve({
          uuid: id,
          name: `nuage-ipam-${id.slice(0, 12)}`,
          portName: `p${id.slice(0, 6)}`,
          mac: mac(),
          subnetId,
          owner: OWNER,
        }),
      );
    }
    const posts = sent.filter((s) => s.method === "POST");
    assert.equal(posts.length, 2);
    assert.equal(counted(), sent.length, "every request sent is counted (the plugin's vsd_requests_total)");
    for (const [i, p] of posts.entries()) {
      const body = p.body as Record<string, unknown>;
      assert.equal(body.orchestrationID, ids[i], "orchestrationID on create");
      assert.equal(body.externalID, reservationExternalId(TAG, ids[i]!), "an externalID of its own");
      assert.equal(p.headers["x-nuage-proxyuser"], proxyUser ? "Enterprise@admin" : undefined);
    }
    // The VSD made each container for the user the header named, else for the config's user.
    for (const m of made) assert.equal(containerOf(m.containerId).userName, proxyUser ? "admin" : "csproot");

    // The update sends the whole object, changed: UUID, name, orchestrationID and the rest.
    sent.length = 0;
    await ipam.rename(made[0]!.containerId, "web-1", "d".repeat(64), OWNER);
    const put = sent.find((s) => s.method === "PUT")!;
    const body = put.body as Record<string, unknown>;
    assert.equal(body.UUID, ids[0]);
    assert.equal(body.name, "web-1");
    assert.equal(body.orchestrationID, "d".repeat(64));
    assert.equal(body.externalID, reservationExternalId(TAG, ids[0]!));
    assert.ok(Array.isArray(body.interfaces), "interfaces kept");
    for (const ro of ["ID", "parentID", "creationDate", "lastUpdatedDate"]) assert.ok(!(ro in body), `${ro} left out`);
    assert.equal(put.headers["x-nuage-proxyuser"], proxyUser ? "Enterprise@admin" : undefined);
    assert.equal(containerOf(made[0]!.containerId).name, "web-1");

    // The identity sync's naming of a container found by UUID: the same whole PUT, no second GET.
    sent.length = 0;
    const named = await vsdNamer(client, { proxyUser })!.nameContainer(ids[1]!, "web-2", "e".repeat(64), OWNER);
    assert.equal(named, true);
    assert.deepEqual(
      sent.map((s) => s.method),
      ["GET", "PUT"],
    );
    assert.equal((sent[1]!.body as Record<string, unknown>).UUID, ids[1]);
    assert.equal(containerOf(made[1]!.containerId).orchestrationID, "e".repeat(64));

    // Release: by ID; a second time finds nothing; by externalID when the ID is unknown.
    assert.equal(await ipam.release({ uuid: ids[0]!, containerId: made[0]!.containerId, owner: OWNER }), "deleted");
    assert.equal(await ipam.release({ uuid: ids[0]!, containerId: made[0]!.containerId, owner: OWNER }), "absent");
    sent.length = 0;
    assert.equal(await ipam.release({ uuid: ids[1]!, owner: OWNER }), "deleted");
    assert.match(sent[0]!.headers["x-nuage-filter"] ?? "", /externalID == ".*\/[0-9a-f]{64}"/);
    assert.equal(await ipam.release({ uuid: ids[1]!, owner: OWNER }), "absent");
  });
}

test("a VSD refusal reaches the caller with the attribute's name and the VSD's words", async () => {
  const { client } = await recordingClient();
  const ipam = ipamVsd(client, TAG);
  const a = await ipam.reserve({ uuid: uuid(), name: "a", portName: "pa", mac: mac(), subnetId, owner: OWNER });
  await assert.rejects(
    ipam.reserve({ uuid: uuid(), name: "b", portName: "pb", mac: mac(), ip: a.ip, subnetId, owner: OWNER }),
    (err: unknown) =>
      err instanceof ReservationRefused &&
      err.reason === "in-use" &&
      /^IPAddress: /.test(err.message) &&
      err.message.includes(a.ip),
  );
  // Another container with a reservation's externalID: the VSD names the attribute, in its words.
  const again = uuid();
  await ipam.reserve({ uuid: again, name: "c", portName: "pc", mac: mac(), subnetId, owner: OWNER });
  await assert.rejects(
    client.createContainer({
      UUID: uuid(),
      name: "d",
      orchestrationID: "d",
      externalID: reservationExternalId(TAG, again),
      interfaces: [{ name: "pd", MAC: mac(), attachedNetworkID: subnetId }],
    }),
    (err: unknown) => err instanceof VsdError && err.status === 409 && /^externalID: /.test(err.message),
  );
});
