// The single-host end-to-end tests on the engine the tests call today's: Docker 28 (Debian
// unstable's docker.io, scripts/fetch-docker.sh 28), or 26 with NUAGE_TEST_ENGINE=26.
import { currentEngine } from "../support/dockerd.js";
import { singleHostSuite } from "./single-host-suite.js";

singleHostSuite(currentEngine());
