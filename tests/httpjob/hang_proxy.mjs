// A proxy for the HTTP job adapter's crash-window test (tests/httpjob/): it forwards
// every request to the server given as its argument, except that the answer to a run's
// creation (POST /threads/ID/runs) is never sent back: the run exists at the server,
// but the client that asked never learns its id, as when a client dies between the
// dispatch and the answer. Node's standard library only.
//
//   node hang_proxy.mjs http://127.0.0.1:PORT
// Listens on 127.0.0.1 and a free port, prints {"port":N} first. GET /proxy-stats
// (answered, not forwarded): {"creates": N, "api_keys": [x-api-key of each request]}:
// the run creations forwarded and held, and the keys the client sent.
import http from "node:http";

const target = new URL(process.argv[2]);
const stats = { creates: 0, api_keys: [] };

const server = http.createServer((req, res) => {
  if (req.url === "/proxy-stats") {
    res.writeHead(200, { "Content-Type": "application/json" });
    return res.end(JSON.stringify(stats));
  }
  stats.api_keys.push(req.headers["x-api-key"] ?? null);
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const hold = req.method === "POST" && /^\/threads\/[^/]+\/runs$/.test(req.url);
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        const body = [];
        up.on("data", (c) => body.push(c));
        up.on("end", () => {
          if (hold) {
            stats.creates++;
            return; // the run was made; its answer is never sent
          }
          res.writeHead(up.statusCode, up.headers);
          res.end(Buffer.concat(body));
        });
      },
    );
    upstream.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    upstream.end(Buffer.concat(chunks));
  });
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + "\n");
});
