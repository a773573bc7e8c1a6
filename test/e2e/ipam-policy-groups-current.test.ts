// The nuage IPAM and per-container policy groups on the engine the tests call today's: Docker 28
// (scripts/fetch-docker.sh 28), or 26 with NUAGE_TEST_ENGINE=26.
import { currentEngine } from "../support/dockerd.js";
import { ipamPolicyGroupsSuite } from "./ipam-policy-groups-suite.js";

ipamPolicyGroupsSuite(currentEngine());
