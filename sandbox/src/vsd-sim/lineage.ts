/**
 * How objects hang together: ancestors by parentID, the links a VSD lists objects under besides
 * their parent (a domain under its template; an interface under its vPort, subnet, zone and domain;
 * a container under everything its interfaces are), and what a delete would take along.
 */
import type { Entity, EntityMap } from "./model.js";

export class Lineage {
  constructor(private readonly entities: EntityMap) {}

  private parentOf(e: Entity): Entity | undefined {
    return e.a.parentID ? this.entities.get(e.a.parentID) : undefined;
  }

  enterpriseOf(e: Entity): string | undefined {
    for (let x: Entity | undefined = e; x; x = this.parentOf(x)) {
      if (x.kind === "enterprise") return x.a.ID;
      if (x.kind === "container") return x.a.enterpriseID ?? undefined;
    }
    return undefined;
  }

  /** IDs of the objects under which e appears in a child list. */
  related(e: Entity): Set<string> {
    const s = new Set<string>();
    const add = (v: string | null | undefined): void => {
      if (v) s.add(v);
    };
    if (e.kind === "container") {
      for (const i of this.entities.interfacesOf(e.a.ID)) for (const id of this.related(i)) s.add(id);
      add(e.a.enterpriseID);
      return s;
    }
    for (let p = this.parentOf(e); p; p = this.parentOf(p)) add(p.a.ID);
    if (e.kind === "domain") add(e.a.templateID);
    if (e.kind === "containerinterface") {
      add(e.a.VPortID);
      add(e.a.attachedNetworkID);
      add(e.a.zoneID);
      add(e.a.domainID);
      add(this.enterpriseOf(e));
    }
    return s;
  }

  /** Containers (or their interfaces) attached below e: while there are any, e cannot be deleted. */
  containersBelow(e: Entity): number {
    if (e.kind === "enterprise") {
      return [...this.entities.values()].filter((c) => c.kind === "container" && c.a.enterpriseID === e.a.ID).length;
    }
    const scopes = new Set([e.a.ID]);
    if (e.kind === "domaintemplate")
      for (const d of this.entities.all("domain")) if (d.a.templateID === e.a.ID) scopes.add(d.a.ID);
    return this.entities.all("containerinterface").filter((i) => [...this.related(i)].some((id) => scopes.has(id)))
      .length;
  }

  /** Everything owned below e, parents before children (the domains of a template count as its own). */
  descendants(e: Entity): Entity[] {
    const out: Entity[] = [];
    const seen = new Set<Entity>([e]);
    const walk = (p: Entity): void => {
      for (const c of this.entities.values()) {
        const owned =
          c.a.parentID === p.a.ID || (p.kind === "domaintemplate" && c.kind === "domain" && c.a.templateID === p.a.ID);
        if (owned && !seen.has(c)) {
          seen.add(c);
          out.push(c);
          walk(c);
        }
      }
    };
    walk(e);
    return out;
  }
}
