/**
 * IpRouteLinks through the `ip -batch` co-process and through one `ip` process per command,
 * on real links in a network namespace of the test's own (root, iproute2).
 */
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { IpRouteLinks, LinkExistsError } from "../../src/host/links.js";
import { IpBatch } from "../../src/host/ip-batch.js";

const NS = `nt-links-${randomBytes(4).toString("hex")}`;
const ip = (...args: string[]): string => execFileSync("ip", ["-n", NS, ...args], { encoding: "utf8" });
const linkInfo = (
  name: string,
): { ifname: string; mtu: number; address: string; operstate: string; flags: string[] } | undefined => {
  const all = JSON.parse(ip("-j", "link", "show")) as {
    ifname: string;
    mtu: number;
    address: string;
    operstate: string;
    flags: string[];
  }[];
  return all.find((l) => l.ifname === name);
};

before(() => {
  execFileSync("ip", ["netns", "add", NS]);
});
after(() => {
  execFileSync("ip", ["netns", "del", NS]);
});

for (const batch of [true, false]) {
  test(`${batch ? "co-process" : "one process per command"}: create with MTU and peer MAC, list, delete, missing links`, async () => {
    const links = new IpRouteLinks({ netns: NS, batch });
    try {
      const tag = batch ? "b" : "e";
      const host = `nuh${tag}00000000001`,
        peer = `nuc${tag}00000000001`;
      await links.createVethPair(host, peer, "0a:01:0a:15:3b:07", 1450);
      const h = linkInfo(host),
        p = linkInfo(peer);
      assert.equal(h?.mtu, 1450, "host end MTU");
      assert.equal(p?.mtu, 1450, "peer MTU");
      assert.equal(p?.address, "0a:01:0a:15:3b:07", "peer MAC");
      assert.ok(h?.flags.includes("UP"), "host end up");
      assert.equal(await links.linkExists(host), true);
      assert.deepEqual(
        await links.listLinks("nuh", "nuc"),
        [host, peer],
        "in the prefixes' order (the kernel lists the peer first)",
      );
      assert.deepEqual(await links.listLinks("nuc"), [peer]);

      await assert.rejects(
        links.createVethPair(host, peer, "0a:01:0a:15:3b:07"),
        (err: Error) => err instanceof LinkExistsError && /File exists/.test(err.message),
        "a second create fails as LinkExistsError, with iproute2's message",
      );
      assert.equal(await links.deleteLink(host), true);
      assert.equal(linkInfo(peer), undefined, "the peer went with the host end");
      assert.equal(await links.deleteLink(host), false, "deleting a missing link says so");
      assert.equal(await links.linkExists(host), false);

      // Re-created under the same names (a Join after a Leave), deleted from the peer's side.
      await links.createVethPair(host, peer, "0a:01:0a:15:3b:07");
      assert.equal(linkInfo(host)?.mtu, 1500, "no MTU given: the kernel's default");
      assert.equal(await links.deleteLink(peer), true);
      assert.equal(linkInfo(host), undefined);
      await assert.rejects(
        links.createVethPair(host, peer, "0a:01:0a:15:3b:07", 20),
        /MTU 20: expected a whole number/,
      );
    } finally {
      links.close();
    }
  });
}

test("co-process: a background deletion does not hold up a create (a process of its own)", async () => {
  const links = new IpRouteLinks({ netns: NS });
  try {
    await links.createVethPair("nuhf00000000001", "nucf00000000001", "0a:01:0a:15:3b:09");
    const order: string[] = [];
    const deleting = links.deleteLink("nuhf00000000001", { background: true }).then(() => order.push("delete"));
    await links
      .createVethPair("nuhf00000000002", "nucf00000000002", "0a:01:0a:15:3b:0a")
      .then(() => order.push("create"));
    await deleting;
    assert.deepEqual(
      order,
      ["create", "delete"],
      "the create answered while the kernel was still deleting the other veth",
    );
    assert.equal(linkInfo("nuhf00000000001"), undefined);
    assert.equal(await links.deleteLink("nuhf00000000002", { background: true }), true);
  } finally {
    links.close();
  }
});

test("co-process: refuses what is not a plugin-made token or a link add|set|del, before writing it", async () => {
  const b = new IpBatch({ ipOptions: ["-n", NS] });
  try {
    await assert.rejects(b.run(["link", "add", "nuh x", "type", "veth"]), /refusing the argument "nuh x"/);
    await assert.rejects(b.run(["link", "add", "nuhx\nlink", "type", "veth"]), /refusing the argument/);
    await assert.rejects(b.run(["link", "add", "#", "type", "veth"]), /refusing the argument "#"/);
    await assert.rejects(b.run(["link", "show"]), /only link add\|set\|del/);
    await assert.rejects(b.run(["netns", "del", "x"]), /only link add\|set\|del/);
    // Commands in flight together are answered each with its own outcome.
    const outcomes = await Promise.allSettled([
      b.run(["link", "add", "nuhc00000000001", "type", "veth", "peer", "name", "nucc00000000001"]),
      b.run(["link", "del", "nuhc0000000none"]),
      b.run(["link", "set", "nuhc00000000001", "up"]),
      b.run(["link", "del", "nuhc00000000001"]),
      b.run(["link", "del", "nucc00000000001"]),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ["fulfilled", "rejected", "fulfilled", "fulfilled", "rejected"],
    );
    assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /Cannot find device "nuhc0000000none"/);
  } finally {
    b.close();
  }
});

test("co-process gone: the command under way fails as a process failure; links fall back to one process per command", async () => {
  const b = new IpBatch({ ip: "/bin/false" });
  await assert.rejects(
    b.run(["link", "del", "nuhd00000000001"]),
    (err: Error) => err.constructor.name === "IpBatchProcessError",
  );
  b.close();

  const links = new IpRouteLinks({ netns: NS });
  try {
    // Replace the co-process by one that exits at once: each command then runs on its own.
    (links as unknown as { batch: IpBatch }).batch = new IpBatch({ ip: "/bin/false" });
    await links.createVethPair("nuhd00000000001", "nucd00000000001", "0a:01:0a:15:3b:08");
    assert.ok(linkInfo("nuhd00000000001"), "created through the fallback");
    assert.equal(await links.deleteLink("nuhd00000000001"), true);
    assert.equal(await links.deleteLink("nuhd00000000001"), false);
  } finally {
    links.close();
  }
});
