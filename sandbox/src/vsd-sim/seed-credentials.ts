/**
 * The CSP administrator of the simulator's default seed (default-seed.json), as the sandbox's
 * own clients log in: the VRS agent emulator, `sandbox up`'s printed config, the bench's and the
 * fault tests' set-up scripts. A simulator's seed user, not a secret: it opens nothing but a
 * simulator started on this host. Written once here so the seed and its clients cannot drift.
 */
export const SEED_CSP_ADMIN = { organization: "csp", user: "csproot", password: "csproot" } as const;
