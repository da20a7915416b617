// Browser tests of the web map against a real `lantu serve` with the sample district, driven
// by playwright-core in Debian's chromium (headless, SwiftShader WebGL). Screenshots go to
// web/test-results/.
//
// Needs: target/debug/lantu (or $LANTU_BIN), web/dist (npm run build), data/sample (the
// committed sample district), /usr/bin/chromium (or $CHROMIUM).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const BIN = process.env.LANTU_BIN || join(repo, 'target/debug/lantu');
const MANIFEST = process.env.LANTU_MANIFEST || join(repo, 'data/sample/blueprint.toml');
const SITES_TXT = process.env.LANTU_SITES || join(repo, 'data/sample/sites.txt');
const DIST = join(repo, 'web/dist');
const RESULTS = join(repo, 'web/test-results');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const run = promisify(execFile);

// The three control lines every site verdict names.
const CONTROL_LINES = ['永久基本农田', '生态保护红线', '城镇开发边界'];

let tmp, store, server, context, page, base, bp;
const keys = {};

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitHealthy(url, ms) {
  const until = Date.now() + ms;
  let last;
  while (Date.now() < until) {
    if (server.exitCode !== null) throw new Error(`lantu serve exited with ${server.exitCode}; see web/test-results/server.log`);
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) return r.json();
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`lantu serve did not answer /healthz in ${ms} ms (${last})`);
}

async function shot(name) {
  await page.screenshot({ path: join(RESULTS, `${name}.png`) });
}

async function apiJson(path, { key, method = 'GET', json } = {}) {
  const headers = key ? { Authorization: `Bearer ${key}` } : {};
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(`${base}${path}`, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  assert.ok(r.ok, `${method} ${path}: HTTP ${r.status} ${await r.clone().text()}`);
  return r.json();
}

/** Logs in through the page's 登录 field and waits for the role to show. */
async function loginAs(role) {
  await page.fill('#key', keys[role]);
  await page.click('#login button[type=submit]');
  await page.waitForFunction((r) => document.querySelector('#whoami')?.dataset.role === r, role);
}

async function mapSettled() {
  await page.waitForFunction(() => {
    const m = window.lantu?.map;
    return m && m.loaded() && m.areTilesLoaded() && !m.isMoving();
  }, null, { timeout: 120_000 });
}

// Ellipsoidal area of a lon/lat ring on the CGCS2000 ellipsoid, through the authalic latitude
// (an equal-area map), independent of the server's own computation.
function ellipsoidalArea(ring) {
  const a = 6378137;
  const f = 1 / 298.257222101;
  const e2 = f * (2 - f);
  const e = Math.sqrt(e2);
  const q = (phi) => {
    const s = Math.sin(phi);
    return (1 - e2) * (s / (1 - e2 * s * s) - (1 / (2 * e)) * Math.log((1 - e * s) / (1 + e * s)));
  };
  const qp = q(Math.PI / 2);
  const rq = a * Math.sqrt(qp / 2);
  const pts = ring.map(([lon, lat]) => [rq * (lon * Math.PI) / 180, (rq * q((lat * Math.PI) / 180)) / qp]);
  let s = 0;
  for (let i = 0; i + 1 < pts.length; i++) s += pts[i][0] * pts[i + 1][1] - pts[i + 1][0] * pts[i][1];
  return Math.abs(s) / 2;
}

/**
 * Sites in an upload file: in a 界址点 TXT each parcel starts with a header line ending in `@`;
 * a GeoJSON FeatureCollection has one per feature.
 */
function sitesIn(path) {
  if (/\.(geo)?json$/i.test(path)) return JSON.parse(readFileSync(path, 'utf8')).features.length;
  const text = readFileSync(path, 'latin1');
  return text.split(/\r?\n/).filter((l) => /,@\s*$/.test(l)).length;
}

before(async () => {
  for (const [what, path] of [['the lantu binary', BIN], ['the built page (npm run build)', join(DIST, 'index.html')],
    ['the sample manifest', MANIFEST], ['chromium', CHROMIUM]]) {
    assert.ok(existsSync(path), `${what} is missing: ${path}`);
  }
  mkdirSync(RESULTS, { recursive: true });
  tmp = mkdtempSync(join(tmpdir(), 'lantu-web-'));
  store = join(tmp, 'store');
  await run(BIN, ['import', '--manifest', MANIFEST, '--store', store], { cwd: repo, maxBuffer: 64 << 20, timeout: 600_000 });
  for (const role of ['planner', 'land_sale', 'admin']) {
    const { stdout } = await run(BIN, ['keys', 'create', '--store', store, '--name', `测试${role}`, '--role', role], { cwd: repo });
    keys[role] = stdout.trim().split(/\s+/).pop();
    assert.match(keys[role], /^lantu_[0-9a-f]+$/);
  }
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const log = openSync(join(RESULTS, 'server.log'), 'w');
  server = spawn(BIN, ['serve', '--store', store, '--addr', `127.0.0.1:${port}`, '--web', DIST, '--manifest', MANIFEST],
    { cwd: repo, stdio: ['ignore', log, log] });
  await waitHealthy(base, 120_000);
  bp = await apiJson('/api/blueprint');

  context = await chromium.launchPersistentContext(join(tmp, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    acceptDownloads: true,
    viewport: { width: 1400, height: 900 },
    locale: 'zh-CN',
    args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
});

after(async () => {
  await context?.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill('SIGTERM');
    await new Promise((r) => { server.once('exit', r); setTimeout(r, 5000); });
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the page loads the blueprint, its legend and the tabs in Chinese', { timeout: 120_000 }, async () => {
  const requests = [];
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.lantu?.ready === true, null, { timeout: 60_000 });
  assert.match(await page.locator('#bp-label').innerText(), new RegExp(bp.name.replace(/[()（）]/g, '.')));
  assert.equal(await page.locator('#legend input[data-layer]').count(), bp.layers.length);
  for (const l of bp.layers) {
    assert.equal(await page.locator(`#legend input[data-layer="${l.id}"]`).count(), 1, `legend toggle of ${l.id}`);
  }
  assert.deepEqual(await page.locator('#tabs button').allInnerTexts(), ['选址核查', '差异图斑', '规划协调']);
  await mapSettled();
  // Same origin only: no CDN, no basemap, no glyph server.
  const foreign = requests.filter((u) => !u.startsWith(base) && !u.startsWith('data:') && !u.startsWith('blob:'));
  assert.deepEqual(foreign, []);
  await shot('01-page');
});

test('the map canvas is not blank', { timeout: 120_000 }, async () => {
  await mapSettled();
  const png = await page.locator('#map canvas.maplibregl-canvas').screenshot();
  // Decode in the page (the browser has a PNG decoder) and count pixels that differ from the
  // style's background colour #f5f3ee.
  const stats = await page.evaluate(async (b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const g = c.getContext('2d');
    g.drawImage(bmp, 0, 0);
    const d = g.getImageData(0, 0, bmp.width, bmp.height).data;
    let drawn = 0;
    const colours = new Set();
    for (let i = 0; i < d.length; i += 4) {
      const diff = Math.max(Math.abs(d[i] - 245), Math.abs(d[i + 1] - 243), Math.abs(d[i + 2] - 238));
      if (diff > 12) {
        drawn++;
        colours.add(`${d[i] >> 4},${d[i + 1] >> 4},${d[i + 2] >> 4}`);
      }
    }
    return { drawn, total: d.length / 4, colours: colours.size };
  }, png.toString('base64'));
  await shot('02-map');
  assert.ok(stats.total > 100_000, `canvas of ${stats.total} pixels`);
  assert.ok(stats.drawn / stats.total > 0.1, `only ${stats.drawn} of ${stats.total} pixels differ from the background`);
  assert.ok(stats.colours >= 8, `only ${stats.colours} distinct colours drawn`);
});

test('drawing a site with the mouse shows its control-line verdicts', { timeout: 180_000 }, async () => {
  // Among the 控规 parcels: at the first vertex of the first one.
  const plan = bp.layers.find((l) => l.role === 'urban_plan');
  const items = await apiJson(`/ogc/collections/${encodeURIComponent(plan.id)}/items?limit=1`);
  const first = items.features[0].geometry.coordinates.flat(3);
  await page.evaluate(([lon, lat]) => window.lantu.map.jumpTo({ center: [lon, lat], zoom: 15 }), [first[0], first[1]]);
  await mapSettled();
  await page.click('#draw-btn');
  const box = await page.locator('#map canvas.maplibregl-canvas').boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  const corners = [[-110, -80], [120, -90], [130, 85], [-100, 95]];
  for (const [dx, dy] of corners) {
    await page.mouse.click(cx + dx, cy + dy);
    await page.waitForTimeout(200);
  }
  await page.mouse.click(cx + corners[0][0], cy + corners[0][1]);
  await page.waitForSelector('#verdict .site-card', { timeout: 60_000 });
  const card = page.locator('#verdict .site-card').first();
  for (const line of CONTROL_LINES) {
    const li = card.locator('.verdict', { hasText: line });
    assert.equal(await li.count(), 1, `one verdict line names ${line}`);
    assert.match(await li.innerText(), /[✓⚠]/);
  }
  // The area shown is the drawn polygon's, computed here on the ellipsoid.
  const ring = await page.evaluate(() => window.lantu.sites.draw.getSnapshot().find((f) => f.geometry.type === 'Polygon').geometry.coordinates[0]);
  assert.equal(ring.length, 5);
  const shown = /面积 ([\d,]+\.\d\d) m²/.exec(await card.locator('.meta').first().innerText());
  assert.ok(shown, 'the card shows the area');
  const area = Number(shown[1].replaceAll(',', ''));
  const expected = ellipsoidalArea(ring);
  assert.ok(Math.abs(area - expected) / expected < 1e-3, `area ${area} m², expected ${expected.toFixed(2)} m²`);
  await shot('03-drawn-site');
});

test('uploading sites.txt shows the verdicts of each of its sites', { timeout: 180_000 }, async () => {
  assert.ok(existsSync(SITES_TXT), `the sample's sites file is missing: ${SITES_TXT}`);
  const parcels = sitesIn(SITES_TXT);
  assert.ok(parcels > 0, 'sites.txt holds parcels');
  await page.click('#clear-btn');
  await page.setInputFiles('#site-file', SITES_TXT);
  // A TXT declares its CRS in the header; GeoJSON coordinates are CGCS2000 lon/lat.
  await page.fill('#site-crs', /\.(geo)?json$/i.test(SITES_TXT) ? 'EPSG:4490' : '');
  await page.click('#upload-btn');
  await page.waitForFunction((n) => document.querySelectorAll('#verdict .site-card').length === n, parcels, { timeout: 120_000 });
  for (const card of await page.locator('#verdict .site-card').all()) {
    for (const line of CONTROL_LINES) {
      assert.equal(await card.locator('.verdict', { hasText: line }).count(), 1, `a verdict line names ${line}`);
    }
  }
  await shot('04-uploaded-sites');
});

test('with the land_sale key the checklist downloads as PDF, XLSX, JSON and TXT', { timeout: 240_000 }, async () => {
  // A viewer is not offered the checklist, and an unknown key is refused and forgotten.
  assert.equal(await page.locator('#checklist-box').isVisible(), false);
  await page.fill('#key', 'lantu_0000');
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#whoami')?.dataset.role === 'none');
  assert.match(await page.locator('#whoami').innerText(), /^登录失败：/);
  assert.equal(await page.evaluate(() => localStorage.getItem('lantu.apiKey')), null);
  assert.equal(await page.locator('#checklist-box').isVisible(), false);
  await loginAs('land_sale');
  assert.match(await page.locator('#whoami').innerText(), /土地出让人员/);
  assert.equal(await page.locator('#checklist-box').isVisible(), true);
  await page.fill('#project-code', '2019-441704-47-01-000123');
  await page.click('#issue-btn');
  await page.waitForSelector('#checklist-links .checklist button[data-format="pdf"]', { timeout: 120_000 });
  const first = page.locator('#checklist-links .checklist').first();
  const sha = await first.getAttribute('data-sha');
  assert.match(sha, /^[0-9a-f]{64}$/);

  // Each button fetches with the key and saves the blob; a failure shows as an error toast.
  const save = async (format) => {
    await page.evaluate(() => { document.querySelector('#toast').className = ''; });
    const download = page.waitForEvent('download', { timeout: 120_000 });
    const failed = page.waitForSelector('#toast.error', { timeout: 120_000 }).then(async (t) => {
      throw new Error(`${format}: ${await t.innerText()}`);
    });
    // Whichever loses the race is left to time out unobserved.
    download.catch(() => {});
    failed.catch(() => {});
    await first.locator(`button[data-format="${format}"]`).click();
    const d = await Promise.race([download, failed]);
    const path = join(RESULTS, `checklist.${format}`);
    await d.saveAs(path);
    return readFileSync(path);
  };
  const json = JSON.parse((await save('json')).toString('utf8'));
  assert.equal(json.sha256, sha);
  const pdf = await save('pdf');
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  const xlsx = await save('xlsx');
  assert.deepEqual([...xlsx.subarray(0, 4)], [0x50, 0x4b, 0x03, 0x04], 'XLSX is a zip');
  const txt = (await save('txt')).toString('utf8');
  assert.ok(txt.length > 0);
  await shot('05-checklist');
});

test('a reconcile run from the reconcile view fills the conflicts view, and a planner moves a parcel to 区级意见', { timeout: 900_000 }, async () => {
  await loginAs('planner');
  await page.click('#tabs button[data-tab="reconcile"]');
  assert.equal(await page.locator('#reconcile-start').isVisible(), true);
  await page.click('#reconcile-start');
  await page.waitForSelector('#run-status .job', { timeout: 60_000 });
  await shot('06-reconcile-running');
  await page.waitForSelector('#run-status .job[data-state="done"]', { timeout: 840_000 });
  await page.waitForSelector('#run-summary table', { timeout: 60_000 });
  await shot('07-reconcile-done');

  const all = await apiJson('/api/conflicts?limit=1');
  assert.ok(all.total > 0, 'the run recorded conflict parcels');
  await page.click('#goto-conflicts');
  await page.waitForFunction(() => document.querySelectorAll('#conflict-table tbody tr').length > 0, null, { timeout: 60_000 });
  assert.match(await page.locator('#conflict-summary').innerText(), new RegExp(`共 ${all.total} 个图斑`));

  // Filter by type: the count is the ledger's for that rule.
  const rule = await page.locator('#f-rule option').nth(1).getAttribute('value');
  await page.selectOption('#f-rule', rule);
  await page.click('#conflict-filter button[type=submit]');
  const byRule = await apiJson(`/api/conflicts?rule=${encodeURIComponent(rule)}&limit=1`);
  await page.waitForFunction((t) => document.querySelector('#conflict-summary').innerText.includes(`共 ${t} 个图斑`), byRule.total);
  // And by town.
  const town = await page.locator('#f-town option').nth(1).getAttribute('value');
  await page.selectOption('#f-town', town);
  await page.click('#conflict-filter button[type=submit]');
  const byTown = await apiJson(`/api/conflicts?rule=${encodeURIComponent(rule)}&town=${encodeURIComponent(town)}&limit=1`);
  await page.waitForFunction((t) => document.querySelector('#conflict-summary').innerText.includes(t ? `共 ${t} 个图斑` : '没有符合条件'), byTown.total);
  await page.selectOption('#f-town', '');
  await page.click('#conflict-filter button[type=submit]');
  await page.waitForFunction((t) => document.querySelector('#conflict-summary').innerText.includes(`共 ${t} 个图斑`), byRule.total);

  // The first parcel: on the map, then to 区级意见.
  const row = page.locator('#conflict-table tbody tr').first();
  const id = await row.getAttribute('data-id');
  await row.click();
  await page.waitForSelector('#conflict-detail .conflict-card', { timeout: 60_000 });
  const shownOnMap = await page.evaluate(() => {
    const m = window.lantu.map;
    const g = window.lantu.highlighted();
    return m.getLayoutProperty('conflicts-fill', 'visibility') === 'visible' && /Polygon$/.test(g?.type || '');
  });
  assert.ok(shownOnMap, 'the conflicts layer is shown and the parcel highlighted');
  await mapSettled();
  await shot('08-conflict-detail');
  await page.fill('#conflict-detail textarea[name=comment]', '区自然资源局意见：按城规调整');
  await page.fill('#conflict-detail input[name=document]', '阳东自然资〔2026〕1号');
  await page.click('#transition-btn');
  await page.waitForFunction(() => [...document.querySelectorAll('#conflict-detail .events li')].some((li) => li.innerText.includes('区级意见')), null, { timeout: 60_000 });
  const detail = await apiJson(`/api/conflicts/${encodeURIComponent(id)}`);
  assert.equal(detail.record.state, '区级意见');
  assert.equal(detail.events.at(-1).to_state, '区级意见');
  assert.equal(detail.events.at(-1).comment, '区自然资源局意见：按城规调整');
  await shot('09-transition');
});
