/**
 * The secret-leak check: everything the plugin emitted in a run (its log, the errors Docker got,
 * doctor's output, /metrics, /healthz, `docker plugin inspect`), gathered as named texts, searched
 * for the VSD password, each API key the VSD issued to the plugin's user, and the HTTP Basic
 * credentials made of them (base64 of "user:password" and "user:key").
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { BUSYBOX_IMAGE } from "./busybox-image.js";
import type { NuageBed } from "./nuage-bed.js";

export interface VsdSecrets {
  user: string;
  password: string;
  apiKeys: string[];
}

/** A user and password unlike any other string of a run (letters, digits and '-': no encoded forms to look for). */
export function leakCheckUser(): { name: string; password: string } {
  return { name: "leakcheck", password: `pw-${randomBytes(12).toString("hex")}` };
}

/** What is searched for, each with a label that says which secret it is without printing it. */
export function secretForms(s: VsdSecrets): { label: string; value: string }[] {
  const b64 = (t: string): string => Buffer.from(t).toString("base64");
  return [
    { label: "the VSD password", value: s.password },
    { label: "base64(user:password)", value: b64(`${s.user}:${s.password}`) },
    ...s.apiKeys.flatMap((k, i) => [
      { label: `API key #${i + 1}`, value: k },
      { label: `base64(user:API key #${i + 1})`, value: b64(`${s.user}:${k}`) },
    ]),
  ];
}

/** Collects what the plugin emitted, by source. */
export class Emitted {
  private readonly texts: { source: string; text: string }[] = [];

  add(source: string, text: string): void {
    this.texts.push({ source, text });
  }

  get sources(): string[] {
    return [...new Set(this.texts.map((t) => t.source))];
  }

  /** How many texts of a source were gathered. */
  count(source: string): number {
    return this.texts.filter((t) => t.source === source).length;
  }

  totalBytes(): number {
    return this.texts.reduce((n, t) => n + Buffer.byteLength(t.text), 0);
  }

  /** "<secret label> in <source> (line N)" for every occurrence; empty when nothing leaked. */
  leaks(secrets: VsdSecrets): string[] {
    const out: string[] = [];
    for (const { label, value } of secretForms(secrets)) {
      for (const { source, text } of this.texts) {
        const at = text.indexOf(value);
        if (at >= 0) out.push(`${label} in ${source} (line ${text.slice(0, at).split("\n").length})`);
      }
    }
    return out;
  }
}

/**
 * Docker calls the plugin refuses, each one's error gathered: a CIDR unlike the VSD subnet's, an
 * unknown VSD subnet, the nuage IPAM refusing, the VSD answering 500, an unknown policy group;
 * then every API key dropped, so the next VSD call logs in again with the password.
 */
export async function refusedDockerCalls(bed: NuageBed, emitted: Emitted, vsdUser: string): Promise<void> {
  const create = (subnet: string, cidr: string, name: string, extra: string[] = []) => {
    const opts = { organization: "Enterprise", domain: "Domain", zone: "Zone", subnet, user: "admin" };
    return bed.docker([
      "network",
      "create",
      "--driver=nuage",
      ...Object.entries(opts).flatMap(([k, v]) => ["-o", `${k}=${v}`]),
      `--subnet=${cidr}`,
      ...extra,
      name,
    ]);
  };
  const refused = async (what: string, r: { code: number; stderr: string }, reason: RegExp) => {
    emitted.add(`docker error: ${what}`, r.stderr);
    assert.notEqual(r.code, 0, `${what} fails`);
    assert.match(r.stderr, reason, what);
  };
  await refused(
    "CIDR unlike the VSD subnet's",
    await create("Subnet 2", "10.21.58.0/24", "Wrong1"),
    /does not match VSD subnet "Subnet 2"/,
  );
  await refused("no such VSD subnet", await create("No Such Subnet", "10.21.61.0/24", "Wrong2"), /No Such Subnet/);
  await refused(
    "the nuage IPAM refusing",
    await create("Subnet 3", "10.21.62.0/24", "Wrong3", [
      "--ipam-driver=nuage",
      ...["organization=Enterprise", "domain=Domain", "zone=Zone", "subnet=Subnet 3", "user=admin"].flatMap((o) => [
        "--ipam-opt",
        o,
      ]),
    ]),
    /Subnet 3/,
  );
  await bed.vsd.setFaults({ failNext: 20, failStatus: 500 });
  try {
    await refused("the VSD answering 500", await create("Subnet 3", "10.21.60.0/24", "Wrong4"), /500|VSD/);
  } finally {
    await bed.vsd.setFaults({ failNext: 0 });
  }
  await bed.dockerOk(["run", "-d", "--name", "pg1", BUSYBOX_IMAGE, "sleep", "3600"]);
  try {
    await refused(
      "a policy group the VSD does not have",
      await bed.docker(["network", "connect", "--driver-opt", "nuage.policy-group=NoSuchGroup", "MyNet", "pg1"]),
      /"NoSuchGroup": no such policy group/,
    );
  } finally {
    await bed.dockerOk(["rm", "-f", "pg1"]);
  }
  // Every API key dropped: the next VSD call logs in again, with the password.
  await bed.vsd.setFaults({ expireKeys: true });
  await bed.dockerOk([
    "network",
    "create",
    "--driver=nuage",
    ...["organization=Second Enterprise", "domain=Domain B", "zone=Zone B", "subnet=Subnet B", "user=operator"].flatMap(
      (o) => ["-o", o],
    ),
    "--subnet=10.31.59.0/24",
    "Relogin",
  ]);
  await bed.dockerOk(["network", "rm", "Relogin"]);
  const keys = (await bed.vsd.apiKeys()).filter((k) => k.userName === vsdUser);
  assert.ok(keys.length >= 1, "the plugin logged in again");
}
