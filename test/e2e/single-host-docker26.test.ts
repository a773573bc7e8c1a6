// The single-host end-to-end tests on Docker 26 (Debian 13's docker.io, scripts/fetch-docker26.sh).
import { singleHostSuite } from "./single-host-suite.js";

singleHostSuite("26");
