import { readFileSync } from 'node:fs';
const s = readFileSync(process.argv[2]).toString('latin1');
const re = /\x22([\x01-\x30])([A-Z][A-Za-z]+)/g; const cnt = new Map<string, number>(); let m;
while ((m = re.exec(s))) { if (m[1].charCodeAt(0) === m[2].length) cnt.set(m[2], (cnt.get(m[2]) ?? 0) + 1); }
let tot = 0; for (const v of cnt.values()) tot += v;
console.log('total', tot, [...cnt].sort((a, b) => b[1] - a[1]).slice(0,14).map(([k, v]) => `${k}:${v}`).join(' '));
