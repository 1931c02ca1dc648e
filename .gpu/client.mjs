// Tiny HTTP client for .gpu/check.sh (no curl needed): node .gpu/client.mjs <cmd> ...
//   port                                  print a free TCP port on 127.0.0.1
//   mkjpeg <file>                         write a 512x512 photo-like JPEG (carried sharp)
//   ready <base> <seconds> [pid]          wait for GET /readyz == 200; exit 0 ready, 1 not, 3 pid died
//   get <url> <outfile>                   GET, save body, print status
//   translate <base> <model> <jpeg> <n> <outfile>
//   generate <base> <model> <n>
// translate/generate: 1 cold request, then n timed ones; prints one line
//   "TIMING <what> status=<s> cold_ms=<x> n=<n> median_ms=<m> mean_ms=<a> min_ms=<b> max_ms=<c>"
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';

const [cmd, ...args] = process.argv.slice(2);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function timed(fn) {
  const t0 = performance.now();
  const res = await fn();
  const body = Buffer.from(await res.arrayBuffer());
  return { ms: performance.now() - t0, status: res.status, headers: res.headers, body };
}

function stats(what, cold, runs) {
  const ms = runs.map((r) => r.ms).sort((a, b) => a - b);
  const f = (x) => (x === undefined ? 'NA' : x.toFixed(1));
  const statuses = [...new Set([cold, ...runs].map((r) => r.status))].join(',');
  const mean = ms.length ? ms.reduce((a, b) => a + b, 0) / ms.length : undefined;
  console.log(
    `TIMING ${what} status=${statuses} cold_ms=${f(cold.ms)} n=${ms.length} median_ms=${f(ms[Math.floor(ms.length / 2)])} ` +
      `mean_ms=${f(mean)} min_ms=${f(ms[0])} max_ms=${f(ms[ms.length - 1])}`,
  );
  if ([cold, ...runs].some((r) => r.status !== 200)) {
    const bad = [cold, ...runs].find((r) => r.status !== 200);
    console.log(`NON-200 body: ${bad.body.toString('utf8').slice(0, 500)}`);
    process.exitCode = 2;
  }
}

switch (cmd) {
  case 'port': {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      console.log(s.address().port);
      s.close();
    });
    break;
  }
  case 'mkjpeg': {
    const { default: sharp } = await import('sharp');
    const w = 512, h = 512;
    const px = Buffer.alloc(w * h * 3);
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        const sky = y < h * 0.45;
        const n = (rnd() - 0.5) * 30;
        px[i] = Math.max(0, Math.min(255, (sky ? 90 + y * 0.3 : 60 + x * 0.2) + n));
        px[i + 1] = Math.max(0, Math.min(255, (sky ? 140 + y * 0.2 : 110 + Math.sin(x / 20) * 30) + n));
        px[i + 2] = Math.max(0, Math.min(255, (sky ? 220 - y * 0.2 : 50 + Math.cos(y / 15) * 20) + n));
      }
    await sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toFile(args[0]);
    console.log(`wrote ${args[0]} (${readFileSync(args[0]).length} bytes, ${w}x${h})`);
    break;
  }
  case 'ready': {
    // exit 0 ready, 1 not ready in time, 3 the watched pid (optional 3rd arg) died
    const [base, seconds, pid] = args;
    const end = Date.now() + Number(seconds) * 1000;
    const t0 = Date.now();
    while (Date.now() < end) {
      try {
        const res = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status === 200) {
          console.log(`ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
          process.exit(0);
        }
      } catch {}
      if (pid) {
        try {
          process.kill(Number(pid), 0);
        } catch {
          console.log(`server process ${pid} exited after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
          process.exit(3);
        }
      }
      await sleep(250);
    }
    console.log(`not ready after ${seconds} s`);
    process.exit(1);
  }
  case 'get': {
    const [url, out] = args;
    const r = await timed(() => fetch(url, { signal: AbortSignal.timeout(10000) }));
    writeFileSync(out, r.body);
    console.log(`GET ${url} -> ${r.status} (${r.body.length} bytes, ${r.ms.toFixed(1)} ms)`);
    break;
  }
  case 'translate': {
    const [base, model, file, n, out] = args;
    const img = readFileSync(file);
    const req = () =>
      timed(() =>
        fetch(`${base}/v1/models/${model}/translate?format=jpeg&quality=90`, {
          method: 'POST',
          headers: { 'content-type': 'image/jpeg' },
          body: img,
          signal: AbortSignal.timeout(60000),
        }),
      );
    const cold = await req();
    if (out && cold.status === 200) writeFileSync(out, cold.body);
    console.log(`translate cold: status ${cold.status}, X-Image-Size ${cold.headers.get('x-image-size')}, ${cold.body.length} bytes`);
    const runs = [];
    for (let i = 0; i < Number(n); i++) runs.push(await req());
    stats(`translate/${model}/512x512`, cold, runs);
    break;
  }
  case 'generate': {
    const [base, model, n] = args;
    const req = (i) =>
      timed(() =>
        fetch(`${base}/v1/models/${model}/generate`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ label: 7, seed: 42 + i }),
          signal: AbortSignal.timeout(30000),
        }),
      );
    const cold = await req(0);
    console.log(`generate cold: status ${cold.status}, ${cold.headers.get('content-type')}, ${cold.body.length} bytes`);
    const runs = [];
    for (let i = 1; i <= Number(n); i++) runs.push(await req(i));
    stats(`generate/${model}/label7`, cold, runs);
    break;
  }
  default:
    console.error(`unknown command ${cmd}`);
    process.exit(64);
}
