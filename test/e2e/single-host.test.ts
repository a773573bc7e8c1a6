// The single-host end-to-end tests on Docker 20.10 (Debian 12's docker.io).
import { singleHostSuite } from "./single-host-suite.js";

singleHostSuite("20.10");
