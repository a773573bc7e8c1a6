// The nuage IPAM and per-container policy groups on Docker 20.10 (Debian 12's docker.io).
import { ipamPolicyGroupsSuite } from "./ipam-policy-groups-suite.js";

ipamPolicyGroupsSuite("20.10");
