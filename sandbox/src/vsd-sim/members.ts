/**
 * Policy groups assigned to vPorts: the member lists `PUT /vports/{id}/policygroups` and
 * `PUT /policygroups/{id}/vports`, each replacing the whole set (vsd-api.md §8, §10.11).
 */
import { Code, SimError, conflict, notFound } from "./errors.js";
import type { Entity, EntityOf } from "./model.js";

/** The store as member lists read it. */
export interface MembersView {
  getOf<K extends "vport" | "policygroup">(kind: K, id: string | null | undefined): EntityOf<K> | undefined;
}

const otherDomain = (what: string): SimError =>
  conflict("Policy group in another domain", `${what} is not in the same domain.`, "", Code.PolicyGroupOtherDomain);

export class Memberships {
  /** vPort ID → IDs of its policy groups. */
  private readonly byVport = new Map<string, Set<string>>();

  constructor(private readonly view: MembersView) {}

  groupsOf(vportID: string): ReadonlySet<string> {
    return this.byVport.get(vportID) ?? new Set();
  }

  /** Whether the policy group is assigned to any vPort. */
  inUse(pgID: string): boolean {
    return [...this.byVport.values()].some((s) => s.has(pgID));
  }

  /** Replaces the member list of `parent` (a vPort or a policy group) with `ids`, checked first. */
  assign(parent: Entity, ids: string[]): void {
    if (parent.kind === "vport") {
      for (const id of ids) {
        const pg = this.view.getOf("policygroup", id);
        if (!pg) throw notFound("policy group", id);
        if (pg.a.parentID !== parent.a.domainID) throw otherDomain(`Policy group ${pg.a.name}`);
      }
      this.byVport.set(parent.a.ID, new Set(ids));
    } else if (parent.kind === "policygroup") {
      for (const id of ids) {
        const v = this.view.getOf("vport", id);
        if (!v) throw notFound("vport", id);
        if (v.a.domainID !== parent.a.parentID) throw otherDomain(`vport ${v.a.name}`);
      }
      for (const [vp, set] of this.byVport) if (!ids.includes(vp)) set.delete(parent.a.ID);
      for (const id of ids) {
        const set = this.byVport.get(id) ?? new Set<string>();
        set.add(parent.a.ID);
        this.byVport.set(id, set);
      }
    } else {
      throw new SimError(405, "Method not allowed", "Not a member list");
    }
  }

  /** Forgets a deleted vPort or policy group. */
  forget(id: string): void {
    this.byVport.delete(id);
    for (const set of this.byVport.values()) set.delete(id);
  }

  /** vPort ID → IDs of its policy groups, for vPorts that have any. */
  snapshot(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [vp, set] of this.byVport) if (set.size > 0) out[vp] = [...set];
    return out;
  }
}
