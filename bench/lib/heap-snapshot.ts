/**
 * Where a V8 heap snapshot (node --heapsnapshot-signal) goes: the heap by kind of node (code,
 * strings, arrays, objects, ...) and the size each of the plugin's long-lived parts retains
 * (the objects only it keeps alive: its dominator subtree, weak edges not counted), e.g. the
 * store's records (FileStore), the OVSDB replica (Replica), the IPAM (NuageIpam).
 */
import { readFileSync } from "node:fs";

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** The plugin's parts whose retained size is reported, by constructor name. */
export const PARTS = [
  "FileStore",
  "Replica",
  "OvsdbClient",
  "VrsClient",
  "NuageIpam",
  "NuageDriver",
  "Reconciler",
  "IdentitySync",
  "VsdClient",
  "DockerEngine",
  "IpRouteLinks",
  "PolicyGroups",
  "Pino",
] as const;

export interface HeapSummary {
  /** Sum of every node's own size (≈ heapUsed), MB. */
  totalMB: number;
  /** Own size by node kind, MB, largest first. */
  byKind: [string, number][];
  /** Retained size of each instance of PARTS found (summed per name), MB. */
  parts: Record<string, number>;
  /** Own size by constructor name (objects and closures), MB, largest first. */
  topObjects: [string, number][];
}

const mb = (b: number): number => Math.round(b / 10485.76) / 100;

export function summarizeHeapSnapshot(file: string): HeapSummary {
  const s = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
  const nf = s.snapshot.meta.node_fields;
  const ef = s.snapshot.meta.edge_fields;
  const nodeTypes = s.snapshot.meta.node_types[0];
  const edgeTypes = s.snapshot.meta.edge_types[0];
  const NW = nf.length,
    EW = ef.length;
  const T = nf.indexOf("type"),
    N = nf.indexOf("name"),
    SZ = nf.indexOf("self_size"),
    EC = nf.indexOf("edge_count");
  const ET = ef.indexOf("type"),
    TO = ef.indexOf("to_node");
  const weak = edgeTypes.indexOf("weak"),
    shortcut = edgeTypes.indexOf("shortcut");
  const n = s.nodes.length / NW;
  const firstEdge = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) firstEdge[i + 1] = firstEdge[i]! + s.nodes[i * NW + EC]!;
  const strong = (e: number): boolean => s.edges[e + ET] !== weak && s.edges[e + ET] !== shortcut;

  // Reverse postorder from the root (node 0), strong edges only.
  const order = new Int32Array(n).fill(-1);
  const rpo: number[] = [];
  const visited = new Uint8Array(n);
  const stack: number[] = [0];
  const cursor = new Uint32Array(n);
  visited[0] = 1;
  while (stack.length) {
    const v = stack[stack.length - 1]!;
    const end = firstEdge[v + 1]!;
    let pushed = false;
    while (firstEdge[v]! + cursor[v]! < end) {
      const e = (firstEdge[v]! + cursor[v]!++) * EW;
      if (!strong(e)) continue;
      const w = s.edges[e + TO]! / NW;
      if (!visited[w]) {
        visited[w] = 1;
        stack.push(w);
        pushed = true;
        break;
      }
    }
    if (!pushed) {
      stack.pop();
      rpo.push(v);
    }
  }
  rpo.reverse();
  rpo.forEach((v, i) => {
    order[v] = i;
  });
  // Predecessors (strong edges between reachable nodes).
  const preds: number[][] = Array.from({ length: n }, () => []);
  for (const v of rpo) {
    for (let e = firstEdge[v]! * EW; e < firstEdge[v + 1]! * EW; e += EW) {
      if (strong(e)) preds[s.edges[e + TO]! / NW]!.push(v);
    }
  }
  // Cooper, Harvey & Kennedy's iterative dominators.
  const idom = new Int32Array(n).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while (order[a]! > order[b]!) a = idom[a]!;
      while (order[b]! > order[a]!) b = idom[b]!;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 1; i < rpo.length; i++) {
      const v = rpo[i]!;
      let d = -1;
      for (const p of preds[v]!) if (idom[p] !== -1) d = d === -1 ? p : intersect(p, d);
      if (d !== -1 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(n);
  for (let i = 0; i < n; i++) retained[i] = s.nodes[i * NW + SZ]!;
  for (let i = rpo.length - 1; i > 0; i--) {
    const v = rpo[i]!;
    retained[idom[v]!] = retained[idom[v]!]! + retained[v]!;
  }

  let total = 0;
  const byKind = new Map<string, number>();
  const byName = new Map<string, number>();
  const parts: Record<string, number> = {};
  const wanted = new Set<string>(PARTS);
  for (let i = 0; i < n; i++) {
    const size = s.nodes[i * NW + SZ]!;
    total += size;
    const kind = nodeTypes[s.nodes[i * NW + T]!]!;
    const name = s.strings[s.nodes[i * NW + N]!]!;
    // "hidden" holds V8's own structures; name them (system / Map, system / SharedFunctionInfo...).
    const label =
      kind === "hidden" || kind === "native" || kind === "synthetic"
        ? `${kind}: ${name.replace(/ \/ .*$/, (m) => m.slice(0, 40))}`
        : kind;
    byKind.set(label, (byKind.get(label) ?? 0) + size);
    if (kind === "object" || kind === "closure") byName.set(name, (byName.get(name) ?? 0) + size);
    // esbuild's bundle names a class that refers to itself _Name.
    const part = name.replace(/^_/, "");
    if (kind === "object" && wanted.has(part) && order[i] !== -1) parts[part] = (parts[part] ?? 0) + retained[i]!;
  }
  const top = (m: Map<string, number>, k: number): [string, number][] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([a, b]) => [a, mb(b)]);
  return {
    totalMB: mb(total),
    byKind: top(byKind, 12),
    parts: Object.fromEntries(
      Object.entries(parts)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => [k, mb(v)]),
    ),
    topObjects: top(byName, 12),
  };
}

if (process.argv[1]?.endsWith("heap-snapshot.js") && process.argv[2]) {
  process.stdout.write(`${JSON.stringify(summarizeHeapSnapshot(process.argv[2]), null, 1)}\n`);
}
