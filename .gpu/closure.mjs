import fs from 'node:fs';
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
const pkgs = lock.packages;
const roots = process.argv.slice(2);
const seen = new Set();
function resolve(from, name) {
  // from: lock key of dependent ('' = root)
  let base = from;
  while (true) {
    const key = (base ? base + '/' : '') + 'node_modules/' + name;
    if (pkgs[key]) return key;
    if (!base) return null;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}
const missing = [];
function visit(key) {
  if (seen.has(key)) return;
  seen.add(key);
  const p = pkgs[key];
  const deps = { ...(p.dependencies || {}), ...(p.optionalDependencies || {}), ...(p.peerDependencies || {}) };
  for (const d of Object.keys(deps)) {
    const k = resolve(key, d);
    if (!k) { if (!(p.peerDependenciesMeta?.[d]?.optional) && !(d in (p.optionalDependencies||{}))) missing.push(key + ' -> ' + d); continue; }
    if (!fs.existsSync(k)) { continue; } // optional platform pkg not installed
    visit(k);
  }
}
for (const r of roots) { const k = resolve('', r); if (!k) throw new Error('no ' + r); visit(k); }
for (const k of [...seen].sort()) console.log(k);
if (missing.length) console.error('MISSING:', missing.join('\n'));
