/**
 * N clients scraping one URL continuously, each on its own keep-alive connection: the next
 * request as soon as the last answer is read. A client whose connection is refused or dropped
 * (the listener caps connections) waits a second before it tries again, as a scraper retries at
 * its next interval. Runs until SIGTERM, then prints one JSON line: answers by status, errors.
 *
 *   node dist/bench/scrapers.js URL CLIENTS
 */
import http from "node:http";

const [url, clientsArg] = process.argv.slice(2);
if (!url || !clientsArg) {
  process.stderr.write("usage: scrapers.js URL CLIENTS\n");
  process.exit(2);
}
const clients = Number(clientsArg);
const byStatus: Record<string, number> = {};
let errors = 0;
let bytes = 0;
let stopping = false;
const t0 = performance.now();

function scrape(agent: http.Agent): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get(url!, { agent }, (res) => {
      res.on("data", (c: Buffer) => {
        bytes += c.length;
      });
      res.on("end", () => {
        byStatus[String(res.statusCode)] = (byStatus[String(res.statusCode)] ?? 0) + 1;
        resolve();
      });
      res.on("error", () => {
        errors++;
        setTimeout(resolve, 1_000);
      });
    });
    req.on("error", () => {
      errors++;
      setTimeout(resolve, 1_000);
    });
  });
}

async function client(): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  while (!stopping) await scrape(agent);
  agent.destroy();
}

for (let i = 0; i < clients; i++) void client();
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
process.once("SIGTERM", () => {
  stopping = true;
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, byStatus, errors, bytes })}\n`);
  process.exit(0);
});
