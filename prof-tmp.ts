import pg from 'pg';
const orig = pg.Client.prototype.query;
let dbMs = 0; let n = 0; const by = new Map<string, number>();
(pg.Client.prototype as any).query = function (this: any, ...args: any[]) {
  const t0 = performance.now();
  const text = typeof args[0] === 'string' ? args[0] : args[0]?.text;
  const done = () => { const ms = performance.now() - t0; dbMs += ms; n++; const k = String(text).slice(0, 30); by.set(k, (by.get(k) ?? 0) + ms); };
  const cbi = args.findIndex((a) => typeof a === 'function');
  if (cbi >= 0) { const cb = args[cbi]; args[cbi] = (...a: any[]) => { done(); return cb(...a); }; }
  const r = orig.apply(this, args as any);
  if (cbi < 0 && r && typeof (r as any).then === 'function') (r as any).then(done, done);
  return r;
};
(globalThis as any).__dbStats = () => { const s = { dbMs, n, by: [...by].sort((a, b) => b[1] - a[1]).slice(0, 8) }; dbMs = 0; n = 0; by.clear(); return s; };
