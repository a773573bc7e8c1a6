/**
 * VSD policy groups chosen per container (the original roadmap): by the endpoint option
 * `nuage.policy-group` (`docker run --network name=N,driver-opt=nuage.policy-group=Web`,
 * `docker network connect --driver-opt nuage.policy-group=Web N c`), checked at CreateEndpoint
 * and put on the vPort before Join returns; or by the container label `nuage.policy-group`,
 * which Docker never passes to drivers, put on the vPort once Docker reports the container.
 * Several groups: comma-separated. The network's `-o policy-group` stays the default.
 *
 * Docker lowercases the value in the `--network name=…,driver-opt=…` form (protocol reference
 * §11), so a name with no exact match is matched case-insensitively.
 */
import { DriverError } from "../plugin/protocol.js";
import type { NuageSubnetRef } from "../store/records.js";

export const POLICY_GROUP_OPTION = "nuage.policy-group";
export const POLICY_GROUP_LABEL = "nuage.policy-group";

export interface PolicyGroupRef {
  id: string;
  name: string;
}

/** What this needs from the VSD (vsd-backends.ts). */
export interface PolicyGroupVsd {
  /** `fresh`: not from a cache (a name was not among the kept groups: an operator may just have made it). */
  listPolicyGroups(
    ref: { organization: string; domain: string },
    opts?: { fresh?: boolean },
  ): Promise<PolicyGroupRef[]>;
  /** The vPort of the interface named `portName` of the VSD container whose UUID is `vmUuid`. */
  vportOf(vmUuid: string, portName: string): Promise<string | undefined>;
  /** Replaces the vPort's policy groups. */
  assign(vportId: string, policyGroupIds: string[]): Promise<void>;
}

/** The names in an option or label value: comma-separated, trimmed, no empties, no repeats. */
export function requestedGroups(value: unknown): string[] {
  if (typeof value !== "string") return [];
  return [
    ...new Set(
      value
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== ""),
    ),
  ];
}

/** The endpoint option's value, whatever the case of its key (Docker keeps it in one form, lowercases in another). */
export function policyGroupOption(options: Record<string, unknown> | null | undefined): string[] {
  for (const [k, v] of Object.entries(options ?? {}))
    if (k.toLowerCase() === POLICY_GROUP_OPTION) return requestedGroups(v);
  return [];
}

/** Each name to the domain's group: exact name first, else the one group equal ignoring case. */
export function matchGroups(
  names: string[],
  available: PolicyGroupRef[],
  where: { domain: string },
  source: string,
): PolicyGroupRef[] {
  const list = (): string => (available.length ? available.map((g) => `"${g.name}"`).join(", ") : "none");
  return names.map((name) => {
    const exact = available.find((g) => g.name === name);
    if (exact) return exact;
    const folded = available.filter((g) => g.name.toLowerCase() === name.toLowerCase());
    if (folded.length === 1) return folded[0]!;
    if (folded.length > 1) {
      throw new DriverError(
        `${source} "${name}" matches several policy groups of domain "${where.domain}" that differ only in case (${folded.map((g) => `"${g.name}"`).join(", ")}): use docker network connect --driver-opt, which keeps the case`,
      );
    }
    throw new DriverError(
      `${source} "${name}": no such policy group in VSD domain "${where.domain}"; its policy groups: ${list()}`,
    );
  });
}

export class PolicyGroups {
  constructor(private readonly vsd: PolicyGroupVsd | undefined) {}

  /** CreateEndpoint: the groups the endpoint asks for, resolved in the VSD; none when it asks for none. */
  async forEndpoint(
    ref: NuageSubnetRef,
    options: Record<string, unknown> | null | undefined,
  ): Promise<PolicyGroupRef[] | undefined> {
    const names = policyGroupOption(options);
    if (names.length === 0) return undefined;
    return this.resolve(ref, names, `driver-opt ${POLICY_GROUP_OPTION}`);
  }

  async resolve(ref: NuageSubnetRef, names: string[], source: string): Promise<PolicyGroupRef[]> {
    if (!this.vsd) {
      throw new DriverError(
        `${source} needs VSD access to find the policy groups: set VsdUrl, VsdOrganization, VsdUser and VsdPasswordFile (or VsdPassword) in the plugin's config (the network's -o policy-group works without)`,
      );
    }
    const list = async (fresh: boolean): Promise<PolicyGroupRef[]> => {
      try {
        return await this.vsd!.listPolicyGroups(ref, { fresh });
      } catch (err) {
        throw new DriverError(
          `listing the policy groups of VSD domain "${ref.domain}" failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
    };
    const kept = await list(false);
    try {
      return matchGroups(names, kept, ref, source);
    } catch (err) {
      if (!(err instanceof DriverError)) throw err;
      // The groups may come from a cache older than a group an operator just made: once more, fresh.
      return matchGroups(names, await list(true), ref, source);
    }
  }

  /** Puts the port's vPort in exactly these groups. `vportId` when known (a reservation), else looked up. */
  async apply(
    groups: readonly PolicyGroupRef[],
    where: { vportId?: string; vmUuid: string; portName: string },
  ): Promise<string> {
    if (!this.vsd) throw new DriverError("policy groups per container need VSD access in the plugin's config");
    const vportId = where.vportId ?? (await this.vsd.vportOf(where.vmUuid, where.portName));
    if (!vportId)
      throw new DriverError(
        `the VSD has no vPort for port ${where.portName} (container ${where.vmUuid.slice(0, 12)}) to put in policy group${groups.length > 1 ? "s" : ""} ${groups.map((g) => `"${g.name}"`).join(", ")}`,
      );
    await this.vsd.assign(
      vportId,
      groups.map((g) => g.id),
    );
    return vportId;
  }
}
