/**
 * Whether the VRS reaches its controller (the VSC): the one rule, read by Join and by doctor.
 *
 * Nuage's own clients (nuage-cni IsVSPFunctional → libvrsdk GetControllerState; vrs-ovsdb.md,
 * "Controller check before writing") count Controller rows with role `master`: exactly one means
 * connected. ovs-vswitchd clears `role` when its connection to the VSC goes; `is_connected` lags
 * `role` at start (false for up to its 5 s status refresh while the role is already master), so
 * it only describes.
 *
 * Not yet reported: `role`, `is_connected` and `status` are ephemeral columns, empty after an
 * ovsdb-server (re)start until ovs-vswitchd reconnects and writes them again (its backoff: up
 * to ~8 s). Counting masters then would call a VRS that is fine "not connected". So the rule
 * answers `unreported` when every controller of the bridge has neither role nor status, and
 * `unreported` is not a verdict either way: whoever needs one waits for the report within its
 * own deadline, as nuage-cni retries its check (10 tries, 3 s apart) rather than failing on the
 * first. Join goes on and waits for the resolution while watching this rule (a VRS cannot resolve
 * without its VSC: a report of no master fails the wait at once, no report at all ends in the
 * resolution timeout); doctor waits for the report up to its step bound, then fails naming it.
 */
import type { ControllerRecord } from "./model.js";

export type ControllerVerdict =
  /** Exactly one master: connected. */
  | { state: "master"; master: ControllerRecord; controllers: readonly ControllerRecord[] }
  /** ovs-vswitchd has not reported since ovsdb-server (re)started: wait for it. */
  | { state: "unreported"; controllers: readonly ControllerRecord[] }
  /** The bridge has no Controller row: the VRS is not set up to reach a VSC. */
  | { state: "none" }
  /** No master (role cleared or another role), or more than one: not connected as Nuage requires. */
  | { state: "no-master"; controllers: readonly ControllerRecord[] }
  | { state: "several-masters"; masters: readonly ControllerRecord[]; controllers: readonly ControllerRecord[] };

/** The verdict on a bridge's Controller rows (those its `controller` column lists). */
export function controllerVerdict(controllers: readonly ControllerRecord[]): ControllerVerdict {
  if (controllers.length === 0) return { state: "none" };
  if (controllers.every((c) => !c.role && Object.keys(c.status).length === 0))
    return { state: "unreported", controllers };
  const masters = controllers.filter((c) => c.role === "master");
  if (masters.length === 1) return { state: "master", master: masters[0]!, controllers };
  if (masters.length > 1) return { state: "several-masters", masters, controllers };
  return { state: "no-master", controllers };
}
