/**
 * One step of a lookup whose steps share one deadline (login, organization, domain, zone,
 * subnet): it fails at the deadline with the step's name, whatever the step waits for, so the
 * operator learns which level of the VSD was slow rather than a bare timeout.
 */
import { VsdDeadlineError, VsdError, VsdTlsError } from "./errors.js";

/** One step of a sequence that shares a deadline: fails at the deadline with the step's name, whatever the step waits for. */
export async function deadlineStep<T>(
  base: string,
  name: string,
  what: string,
  deadline: number,
  timeoutMs: number,
  run: () => Promise<T>,
): Promise<T> {
  const ranOut = (): VsdDeadlineError =>
    new VsdDeadlineError(
      `the VSD lookup ran out of its ${timeoutMs / 1000} s deadline at the ${name} step (${what}): the VSD at ${new URL(base).host} answers too slowly or not at all`,
      name,
    );
  const left = deadline - Date.now();
  if (left <= 0) throw ranOut();
  let timer: NodeJS.Timeout | undefined;
  const expiry = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(ranOut()), left);
  });
  try {
    return await Promise.race([run(), expiry]);
  } catch (err) {
    // A call cut by the shared deadline reports a timeout of its own: say what it means.
    if (
      !(err instanceof VsdDeadlineError) &&
      err instanceof VsdError &&
      err.status === 0 &&
      !(err instanceof VsdTlsError) &&
      Date.now() >= deadline - 50
    ) {
      throw ranOut();
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
