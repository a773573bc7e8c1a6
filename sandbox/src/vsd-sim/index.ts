export { startVsdSimulator } from "./server.js";
export type {
  SimFaults,
  SimFaultsInput,
  SimLogger,
  SimStats,
  SimState,
  VsdSimulator,
  VsdSimulatorOptions,
} from "./server.js";
export { defaultSeedFile, loadSeed } from "./seed.js";
