// Browser tests of the dashboard (issue 6), driven by run.sh.
//
// Usage: node dashboard.test.mjs RUNS_DIR ARTIFACTS_DIR
// RUNS_DIR holds a finished demo run, "demo" (run.sh makes it); this script
// copies it to "xss", where it plants hostile text, and to "live", which it
// makes look like a run still training (no run_end, skillopt.pid naming this
// process) and appends events to; then it starts
// `$SKILLOPT_BIN ui --runs RUNS_DIR --port 0`, and drives headless Chromium
// (/usr/bin/chromium, or $CHROMIUM) through every view.  Screenshots go to
// ARTIFACTS_DIR.  Exit status 0 when every check passed.
//
// SKILLOPT_UI_SERVER, when set, replaces "$SKILLOPT_BIN ui" (a command and
// its arguments separated by spaces) - for trying the pages against another
// implementation of the API.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const [runsDir, artDir] = process.argv.slice(2);
if (!runsDir || !artDir) {
  console.error('usage: node dashboard.test.mjs RUNS_DIR ARTIFACTS_DIR');
  process.exit(2);
}
fs.mkdirSync(artDir, { recursive: true });
const started = Date.now();
const PAYLOAD_SCRIPT = '<script>window.__pwned=1</script>';
const PAYLOAD_IMG = '<img src=x onerror="window.__pwned=2;alert(2)">';
const PAYLOAD_SVG = '<svg onload="window.__pwned=3"></svg>';
const HOSTILE = PAYLOAD_SCRIPT + ' ' + PAYLOAD_IMG + ' ' + PAYLOAD_SVG;

let failures = 0, checks = 0;
function check(name, ok, detail) {
  checks++;
  if (ok) console.log('ok   ' + name);
  else {
    failures++;
    console.log('FAIL ' + name + (detail !== undefined ? ': ' + detail : ''));
  }
}
const pad = (n, w) => String(n).padStart(w, '0');
const readJSON = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));
const kindOf = (a) => (typeof a !== 'string' ? 'none' : a.startsWith('accept') ? 'accept'
  : a.startsWith('reject') ? 'reject' : a.startsWith('skip') ? 'skip' : 'other');
const lines = (t) => { const l = t.split(/\r?\n/); if (l.length && l[l.length - 1] === '') l.pop(); return l; };

/* ---- plant hostile text in the xss run ---------------------------------- */

const demo = path.join(runsDir, 'demo'), xss = path.join(runsDir, 'xss'), liveRun = path.join(runsDir, 'live');
const hist = readJSON(path.join(demo, 'history.json'));
fs.cpSync(demo, xss, { recursive: true });
fs.cpSync(demo, liveRun, { recursive: true });
fs.cpSync(demo, path.join(runsDir, 'group', 'sub'), { recursive: true }); /* id "group/sub" */
{
  const ev = path.join(liveRun, 'events.jsonl');
  fs.writeFileSync(ev, lines(fs.readFileSync(ev, 'utf8')).filter((l) => JSON.parse(l).type !== 'run_end').join('\n') + '\n');
  fs.rmSync(path.join(liveRun, 'summary.json'));
  fs.writeFileSync(path.join(liveRun, 'skillopt.pid'), process.pid + '\n');
}
{
  const skills = path.join(xss, 'skills');
  for (const f of fs.readdirSync(skills))
    fs.appendFileSync(path.join(skills, f), '\n' + HOSTILE + '\n');
  fs.appendFileSync(path.join(xss, 'best_skill.md'), '\n' + HOSTILE + '\n');
  fs.appendFileSync(path.join(xss, 'steps/step_0001/candidate_skill.md'), '\nnew ' + HOSTILE + '\n');
  const rp = path.join(xss, 'steps/step_0001/rollout/results.jsonl');
  const rows = lines(fs.readFileSync(rp, 'utf8')).map((l) => JSON.parse(l));
  for (const r of rows) { r.predicted_answer = HOSTILE; r.fail_reason = HOSTILE; }
  fs.writeFileSync(rp, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
  const conv = path.join(xss, 'steps/step_0001/rollout/predictions', rows[0].id, 'conversation.json');
  fs.writeFileSync(conv, JSON.stringify([{ role: 'user', content: HOSTILE },
    { role: 'assistant', turn: 1, content: [{ type: 'text', text: HOSTILE },
      { type: 'image_url', image_url: { url: 'javascript:window.__pwned=4' } }] }]));
  const dg = path.join(xss, 'steps/step_0001/trajectory_digest.json');
  const d = readJSON(dg);
  d.failure_patterns = [{ pattern: HOSTILE, count: 1, task_ids: [HOSTILE] }];
  d.rejected_edits = [{ op: 'insert_after', target: HOSTILE, content: HOSTILE }];
  fs.writeFileSync(dg, JSON.stringify(d));
  const mp = path.join(xss, 'steps/step_0001/merged_patch.json');
  fs.writeFileSync(mp, JSON.stringify({ reasoning: HOSTILE, edits: [{ op: HOSTILE, target: HOSTILE, content: HOSTILE }] }));
  const cfg = path.join(xss, 'config.json');
  const c = readJSON(cfg);
  c.target_model = HOSTILE;
  fs.writeFileSync(cfg, JSON.stringify(c));
  fs.mkdirSync(path.join(xss, 'steps/step_0001/parse_failures'), { recursive: true });
  fs.writeFileSync(path.join(xss, 'steps/step_0001/parse_failures/analyst_1.txt'), HOSTILE);
}

/* ---- server ------------------------------------------------------------- */

const serverCmd = process.env.SKILLOPT_UI_SERVER
  ? process.env.SKILLOPT_UI_SERVER.split(' ').filter(Boolean)
  : [process.env.SKILLOPT_BIN || 'skillopt', 'ui'];
const server = spawn(serverCmd[0], serverCmd.slice(1).concat(['--runs', runsDir, '--port', '0']),
  { stdio: ['ignore', 'pipe', 'pipe'] });
let serverOut = '';
const base = await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error('the server printed no URL within 10 s:\n' + serverOut)), 10000);
  const look = (b) => {
    serverOut += b.toString();
    const m = serverOut.match(/http:\/\/[0-9a-zA-Z.:[\]-]+:\d+\//);
    if (m) { clearTimeout(t); resolve(m[0]); }
  };
  server.stdout.on('data', look);
  server.stderr.on('data', look);
  server.on('exit', (code) => { clearTimeout(t); reject(new Error('server exited (' + code + '):\n' + serverOut)); });
}).catch((e) => { console.log('FAIL server: ' + e.message); process.exit(1); });
console.log('# server at ' + base);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
const problems = [];
page.on('pageerror', (e) => problems.push('page error: ' + e.message));
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  const t = m.text();
  if (/Failed to load resource: the server responded with a status of 404/.test(t)) return;
  problems.push('console: ' + t);
});
let dialogs = 0;
page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });
const external = [];
page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) external.push(r.url()); });

const shot = (name) => page.screenshot({ path: path.join(artDir, name + '.png'), fullPage: true });
const go = async (hash) => { await page.goto(base + hash); };
const enc = encodeURIComponent;

try {
  /* 1. runs list */
  await go('#/');
  await page.waitForSelector('#runs tr[data-run="demo"]', { timeout: 10000 });
  await page.waitForSelector('#runs tr[data-run="xss"]', { timeout: 10000 });
  check('runs list shows the demo run', await page.locator('#runs tr[data-run="demo"]').count() === 1);
  check('runs list: demo finished',
    (await page.getAttribute('#runs tr[data-run="demo"]', 'data-status')) === 'finished',
    await page.getAttribute('#runs tr[data-run="demo"]', 'data-status'));
  const demoRow = await page.locator('#runs tr[data-run="demo"]').innerText();
  const summary = readJSON(path.join(demo, 'summary.json'));
  check('runs list: best score shown', demoRow.includes(summary.best_selection_hard.toFixed(3)), demoRow);
  check('runs list: test score shown', demoRow.includes(summary.test_hard.toFixed(3)), demoRow);
  check('runs list: a training run is running',
    (await page.getAttribute('#runs tr[data-run="live"]', 'data-status')) === 'running',
    await page.getAttribute('#runs tr[data-run="live"]', 'data-status'));
  check('runs list: a nested run is listed by its path', await page.locator('#runs tr[data-run="group/sub"]').count() === 1);
  await shot('runs');
  /* the list is rebuilt every 5 s: follow the link's href rather than race a click */
  await go(await page.getAttribute('#runs tr[data-run="group/sub"] a', 'href'));
  await page.waitForSelector('svg[data-chart="score"] path.step-marker', { timeout: 10000 });
  check('nested run: its page opens from the list',
    (await page.locator('svg[data-chart="score"] path.step-marker').count()) === hist.length);

  /* 2. run page: one marker per step with the right kind */
  await go('#/run/demo');
  await page.waitForSelector('svg[data-chart="score"] path.step-marker', { timeout: 10000 });
  await page.waitForTimeout(300);
  const markers = await page.$$eval('svg[data-chart="score"] path.step-marker',
    (els) => els.map((e) => [Number(e.getAttribute('data-step')), e.getAttribute('data-action')]));
  check('score chart: one marker per step', markers.length === hist.length, markers.length + ' vs ' + hist.length);
  const want = hist.map((r) => [r.step, kindOf(r.action)]);
  check('score chart: marker kinds match history.json', JSON.stringify(markers) === JSON.stringify(want),
    JSON.stringify(markers));
  const kinds = new Set(want.map((x) => x[1]));
  check('demo has accept, reject and skip steps', kinds.has('accept') && kinds.has('reject') && kinds.has('skip'));
  const shapes = await page.$$eval('svg[data-chart="score"] path.step-marker', (els) => {
    const m = {};
    for (const e of els) m[e.getAttribute('data-action')] = e.getAttribute('d').replace(/[^A-Za-z]/g, '');
    return m;
  });
  check('score chart: accept, reject and skip have distinct shapes',
    new Set([shapes.accept, shapes.reject, shapes.skip]).size === 3, JSON.stringify(shapes));
  check('score chart: baseline and best-so-far drawn',
    await page.locator('svg[data-chart="score"] [data-action="baseline"]').count() === 1 &&
    await page.locator('svg[data-chart="score"] path[data-series="best so far"]').count() === 1);
  for (const c of ['train', 'lr', 'tokens', 'spend', 'timing'])
    check('run page: chart ' + c, await page.locator('svg[data-chart="' + c + '"]').count() === 1);
  check('run page: steps table has every step', await page.locator('#steps tbody tr').count() === hist.length);
  check('run page: spend by role lists the optimizer and the target',
    await page.locator('table.roles tr[data-role="optimizer"]').count() === 1 &&
    await page.locator('table.roles tr[data-role="target"]').count() === 1);
  await shot('run');
  const rej = hist.find((r) => kindOf(r.action) === 'reject');
  await page.$eval('svg[data-chart="score"] path.step-marker[data-step="' + rej.step + '"]',
    (e) => e.dispatchEvent(new MouseEvent('click', { bubbles: true })));
  await page.waitForSelector('h1:has-text("Step ' + rej.step + '")', { timeout: 5000 }).catch(() => {});
  check('score chart: clicking a marker opens its step', page.url().endsWith('#/run/demo/step/' + rej.step), page.url());

  /* 3. live update: a step_end appended to events.jsonl shows within 2 s */
  await go('#/run/live');
  await page.waitForSelector('svg[data-chart="score"] path.step-marker[data-step="' + hist.length + '"]', { timeout: 10000 });
  await page.waitForTimeout(500);
  const next = hist.length + 1;
  const t0 = Date.now();
  fs.appendFileSync(path.join(liveRun, 'events.jsonl'), JSON.stringify({
    ts: new Date().toISOString(), type: 'step_end', step: next, epoch: 3, action: 'accept',
    current_score: 0.95, best_score: 0.95, accepts: 6, rejects: 2, skips: 13,
  }) + '\n');
  let live = true;
  try {
    await page.waitForSelector('svg[data-chart="score"] path.step-marker[data-step="' + next + '"][data-action="accept"]',
      { timeout: 2000 });
  } catch (e) { live = false; }
  check('live update: a new step appears within 2 s', live, (Date.now() - t0) + ' ms');
  console.log('# live update after ' + (Date.now() - t0) + ' ms');
  fs.appendFileSync(path.join(liveRun, 'events.jsonl'), JSON.stringify({
    ts: new Date().toISOString(), type: 'rollout_progress', split: 'train', step: next + 1, done: 3, total: 8 }) + '\n');
  let prog = true;
  try { await page.waitForSelector('progress[value="3"][max="8"]', { timeout: 2000 }); } catch (e) { prog = false; }
  check('live update: rollout progress shown', prog);
  await shot('run_live');

  /* 4. step inspector: the diff of an accepted step shows an added line */
  const acc = hist.find((r) => kindOf(r.action) === 'accept');
  await go('#/run/demo/step/' + acc.step);
  await page.waitForSelector('#candidate-diff table.diff', { timeout: 10000 });
  const added = await page.$$eval('#candidate-diff tr[data-kind="add"] td.txt', (els) => els.map((e) => e.textContent));
  const cand = lines(fs.readFileSync(path.join(demo, 'steps/step_' + pad(acc.step, 4) + '/candidate_skill.md'), 'utf8'));
  const before = new Set(lines(fs.readFileSync(path.join(demo, 'skills/skill_v' + pad(acc.step - 1, 4) + '.md'), 'utf8')));
  const expectAdded = cand.filter((l) => !before.has(l));
  check('step inspector: diff of accepted step ' + acc.step + ' shows an added line',
    added.length > 0 && expectAdded.length > 0 && added.includes(expectAdded[0]), JSON.stringify(added));
  check('step inspector: applied edits listed', await page.locator('#applied tbody tr').count() > 0);
  check('step inspector: proposed patches listed', await page.locator('.patchfile').count() > 0);
  await shot('step');

  /* 5. skills: blame attributes each line of best_skill.md to its first version */
  await go('#/run/demo/skills');
  await page.waitForSelector('#blame table.blame', { timeout: 10000 });
  const bestLines = lines(fs.readFileSync(path.join(demo, 'best_skill.md'), 'utf8'));
  const blameRows = await page.$$eval('#blame tr', (els) => els.map((e) => [e.getAttribute('data-step'), e.querySelector('td.txt').textContent]));
  check('skills: blame has one row per line', blameRows.length === bestLines.length, blameRows.length + ' vs ' + bestLines.length);
  const versions = fs.readdirSync(path.join(demo, 'skills')).filter((f) => /^skill_v\d+\.md$/.test(f)).sort()
    .map((f) => [parseInt(f.slice(7), 10), new Set(lines(fs.readFileSync(path.join(demo, 'skills', f), 'utf8')))]);
  let blameOk = true, blameDetail = '';
  bestLines.forEach((l, i) => {
    const v = versions.find(([, set]) => set.has(l));
    const wantStep = v ? String(v[0]) : '';
    if (!blameRows[i] || blameRows[i][0] !== wantStep || blameRows[i][1] !== l) {
      blameOk = false;
      blameDetail = 'line ' + (i + 1) + ': ' + JSON.stringify(blameRows[i]) + ' want step ' + wantStep;
    }
  });
  check('skills: blame names the first step holding each line', blameOk, blameDetail);
  await page.selectOption('#diff-a', 'skills/skill_v0000.md');
  await page.selectOption('#diff-b', 'best_skill.md');
  await page.click('#diff-go');
  await page.waitForSelector('#skill-view table.diff', { timeout: 5000 });
  check('skills: diff of two versions shows added lines', await page.locator('#skill-view tr[data-kind="add"]').count() > 0);
  await shot('skills');

  /* 6. rollouts: items, failure filter, conversation, compare across steps */
  const selStep = hist.find((r) => fs.existsSync(path.join(demo, 'steps/step_' + pad(r.step, 4) + '/selection_eval')));
  const selStep2 = hist.find((r) => r.step !== selStep.step &&
    fs.existsSync(path.join(demo, 'steps/step_' + pad(r.step, 4) + '/selection_eval')));
  const rows1 = lines(fs.readFileSync(path.join(demo, 'steps/step_0001/rollout/results.jsonl'), 'utf8')).map((l) => JSON.parse(l));
  await go('#/run/demo/step/1/rollout');
  await page.waitForSelector('#items tbody tr', { timeout: 10000 });
  check('rollouts: one row per item', await page.locator('#items tbody tr').count() === rows1.length);
  await page.check('#failonly');
  check('rollouts: failure filter', await page.locator('#items tbody tr').count() === rows1.filter((r) => !(r.hard >= 1)).length);
  await page.uncheck('#failonly');
  const selRows = lines(fs.readFileSync(path.join(demo, 'steps/step_' + pad(selStep.step, 4) + '/selection_eval/results.jsonl'), 'utf8')).map((l) => JSON.parse(l));
  const item = selRows[0].id;
  await go('#/run/demo/step/' + selStep.step + '/rollout?src=selection&item=' + enc(item) +
    '&cmp=' + enc('step:' + selStep2.step + ':selection'));
  await page.waitForSelector('#detail .sidebyside .msg', { timeout: 10000 });
  await page.waitForTimeout(200);
  const panes = await page.$$eval('#detail .sidebyside > div', (els) => els.map((e) => e.querySelectorAll('.msg').length));
  check('rollouts: item compared across two steps side by side', panes.length === 2 && panes[0] > 0 && panes[1] > 0, JSON.stringify(panes));
  const conv = readJSON(path.join(demo, 'steps/step_' + pad(selStep.step, 4) + '/selection_eval/predictions', item, 'conversation.json'));
  const firstText = typeof conv[0].content === 'string' ? conv[0].content : '';
  check('rollouts: conversation text shown', (await page.locator('#detail').innerText()).includes(firstText.split('\n')[0]));
  await shot('rollouts');

  /* 7. memory and config */
  await go('#/run/demo/memory');
  await page.waitForSelector('#config tbody tr', { timeout: 10000 });
  const epochs = new Set(hist.map((r) => r.epoch)).size;
  check('memory: one card per epoch', await page.locator('[data-epoch]').count() === epochs);
  const rejected = hist.filter((r) => kindOf(r.action) === 'reject').length;
  check('memory: every rejected step in the buffer', await page.locator('[data-epoch] .patchfile[data-step]').count() === rejected);
  const memText = await page.locator('main').innerText();
  check('memory: slow update and meta skill results shown', memText.includes('inject_placeholder') && memText.includes('skip_first_epoch'));
  check('memory: config shown', await page.locator('#config tbody tr').count() > 10);
  await shot('memory');

  /* 8. hostile text renders inert everywhere */
  const xssViews = ['#/', '#/run/xss', '#/run/xss/step/1', '#/run/xss/skills', '#/run/xss/memory',
    '#/run/xss/step/1/rollout?item=' + enc(rows1[0].id)];
  for (const v of xssViews) {
    await go(v);
    await page.waitForLoadState('networkidle').catch(() => {});
    await page.waitForTimeout(400);
  }
  await page.waitForSelector('#detail .msg', { timeout: 5000 }).catch(() => {});
  const txt = await page.locator('main').innerText();
  check('xss: payload text visible literally in the conversation', txt.includes(PAYLOAD_SCRIPT) && txt.includes(PAYLOAD_IMG), txt.slice(0, 200));
  await shot('xss_rollout');
  await go('#/run/xss/step/1');
  await page.waitForSelector('#candidate-diff table.diff', { timeout: 10000 });
  await page.waitForTimeout(500);
  const stepTxt = await page.locator('main').innerText();
  check('xss: payload visible literally in the step inspector', stepTxt.includes(PAYLOAD_SCRIPT) && stepTxt.includes(PAYLOAD_SVG));
  await shot('xss_step');
  const pwned = await page.evaluate(() => window.__pwned);
  check('xss: no injected script ran', pwned === undefined, String(pwned));
  check('xss: no dialog opened', dialogs === 0, String(dialogs));
  check('xss: no injected elements in the page', await page.evaluate(() =>
    document.querySelectorAll('main script, main img[src="x"], main svg[onload], [onerror], [onload]').length) === 0);

  check('no requests outside the server', external.length === 0, external.join(' '));
  check('no page errors or CSP violations', problems.length === 0,
    problems.length + ' messages, e.g. ' + [...new Set(problems)].slice(0, 3).map((x) => x.slice(0, 240)).join(' | '));
} catch (e) {
  failures++;
  console.log('FAIL exception: ' + (e && e.stack ? e.stack : e));
  await shot('failure').catch(() => {});
} finally {
  await browser.close().catch(() => {});
  const exited = new Promise((resolve) => server.on('exit', (code, sig) => resolve([code, sig])));
  server.kill('SIGTERM');
  const [code, sig] = await Promise.race([exited, new Promise((r) => setTimeout(() => r(['timeout', null]), 10000))]);
  if (code === 'timeout') server.kill('SIGKILL');
  if (!process.env.SKILLOPT_UI_SERVER)
    check('server stops cleanly on SIGTERM', code === 0 && !/Sanitizer|runtime error/.test(serverOut),
      'exit ' + code + (sig ? ' signal ' + sig : '') + '\n' + serverOut.slice(-2000));
}
console.log('# ' + checks + ' checks, ' + failures + ' failed, ' + ((Date.now() - started) / 1000).toFixed(1) + ' s');
process.exit(failures ? 1 : 0);
