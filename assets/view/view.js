// The snnsim view: listens to /events (Server-Sent Events) and draws the run.
//
// Layout rule: populations sit side by side along x in the scene's order (a training run:
// input, hidden, readout). In a population, neuron slot k (its index; a training run's hidden
// neurons: their stable id, so that a neuron keeps its place while others come and go) sits at
// radius A·∛(k+½) from the cloud's centre, in the direction given by the R2 sequence
// (u, v) = frac(½ + (k+1)·(0.75488…, 0.56984…)): z = 1 − 2u, φ = 2πv. The density is
// constant, so a population's cloud grows with it. At most MAX_DRAWN slots are drawn per population; neuron i lights slot
// i mod MAX_DRAWN. The page only reads: nothing here talks back to the run.
//
// window.snnsimStats holds what the page has received, for tests: the exact totals of the last
// frame (or the end), frame and scene counts, the sizes seen, render count.
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/controls/OrbitControls.js';

const MAX_DRAWN = 20000;
const A = 0.35;
const GLOW_TAU_S = 0.35;
const PALETTE = [0x5e81ac, 0xebcb8b, 0xa3be8c, 0xb48ead, 0xd08770, 0x88c0d0, 0x8fbcbb, 0xe5e9f0];

const stats = window.snnsimStats = {
  connected: false, scenes: 0, frames: 0, ended: false, training: false, run: null,
  totals: null, sizes: {}, sizesSeen: {}, drawn: {}, sampled: 0, rendered: 0,
  webgl: false, errors: [],
};
window.addEventListener('error', (e) => stats.errors.push(String(e.message)));

const $ = (id) => document.getElementById(id);
let paused = false;
let speed = 1;
$('pause').onclick = () => { paused = !paused; $('pause').textContent = paused ? 'resume' : 'pause'; };
$('speed').oninput = (e) => { speed = Number(e.target.value); $('speedv').textContent = speed.toFixed(1) + '×'; };

// ---- three.js scene ----
const host = $('scene');
const renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
stats.webgl = !!renderer.getContext();
renderer.setPixelRatio(window.devicePixelRatio || 1);
host.appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color(0x0b0e14);
const camera = new THREE.PerspectiveCamera(50, 1, 0.1, 2000);
camera.position.set(0, 8, 30);
const controls = new OrbitControls(camera, renderer.domElement);
controls.enableDamping = true;
function resize() {
  const w = host.clientWidth || 800, h = host.clientHeight || 600;
  renderer.setSize(w, h, false);
  renderer.domElement.style.width = w + 'px';
  renderer.domElement.style.height = h + 'px';
  camera.aspect = w / h;
  camera.updateProjectionMatrix();
}
window.addEventListener('resize', resize);
resize();

function slotPosition(k, out, i) {
  const r = A * Math.cbrt(k + 0.5);
  // The R2 low-discrepancy sequence (plastic-number steps) spread over the sphere.
  const u = (0.5 + (k + 1) * 0.7548776662466927) % 1, v = (0.5 + (k + 1) * 0.5698402909980532) % 1;
  const z = 1 - 2 * u, s = Math.sqrt(Math.max(0, 1 - z * z)), phi = 2 * Math.PI * v;
  out[i] = r * s * Math.cos(phi); out[i + 1] = r * s * Math.sin(phi); out[i + 2] = r * z;
}

// One drawn population.
class Cloud {
  constructor(name, index) {
    this.name = name;
    this.color = new THREE.Color(PALETTE[index % PALETTE.length]);
    this.center = new THREE.Vector3();
    this.slots = [];          // slot of each drawn point
    this.slotOf = new Map();  // neuron index -> point
    this.glow = new Float32Array(0);
    this.born = new Float32Array(0);
    this.points = null;
    this.size = 0;
    this.ids = null;
    this.maxSlot = 0;
  }
  radius() { return A * Math.cbrt(Math.max(1, this.maxSlot + 1)); }
  // Neurons 0..size-1, keyed by their stable ids when given.
  set(size, ids) {
    const old = new Map();
    if (this.ids) this.ids.forEach((id, i) => old.set(id, this.glow[i] || 0));
    const oldIds = this.ids ? new Set(this.ids) : null;
    this.size = size;
    this.ids = ids ? ids.slice() : null;
    const n = Math.min(size, MAX_DRAWN);
    this.slots = new Array(n);
    for (let i = 0; i < n; i++) this.slots[i] = ids ? ids[i] : i;
    this.maxSlot = 0;
    for (const s of this.slots) if (s > this.maxSlot) this.maxSlot = s;
    const glow = new Float32Array(n), born = new Float32Array(n);
    if (ids && oldIds) {
      for (let i = 0; i < n; i++) {
        if (old.has(ids[i])) glow[i] = old.get(ids[i]); else born[i] = 1;
      }
    }
    this.glow = glow; this.born = born;
    stats.drawn[this.name] = n;
  }
  build(parent) {
    if (this.points) { parent.remove(this.points); this.points.geometry.dispose(); }
    const n = this.slots.length;
    const pos = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) slotPosition(this.slots[i], pos, 3 * i);
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(pos, 3));
    g.setAttribute('color', new THREE.BufferAttribute(new Float32Array(n * 3), 3));
    const m = new THREE.PointsMaterial({ size: 0.32, vertexColors: true, transparent: true,
      opacity: 0.95, blending: THREE.AdditiveBlending, depthWrite: false });
    this.points = new THREE.Points(g, m);
    this.points.position.copy(this.center);
    parent.add(this.points);
    this.paint(0);
  }
  light(neuron) {
    const i = neuron < MAX_DRAWN ? neuron : neuron % MAX_DRAWN;
    if (i < this.glow.length) this.glow[i] = 1;
  }
  paint(dt) {
    if (!this.points) return;
    const k = Math.exp(-dt / GLOW_TAU_S), kb = Math.exp(-dt / 1.5);
    const c = this.points.geometry.attributes.color.array;
    const { r, g, b } = this.color;
    for (let i = 0; i < this.glow.length; i++) {
      const x = (this.glow[i] *= k), y = (this.born[i] *= kb);
      c[3 * i] = r * 0.5 + x * 1.0 + y * 0.1;
      c[3 * i + 1] = g * 0.5 + x * 0.95 + y * 0.9;
      c[3 * i + 2] = b * 0.5 + x * 0.7 + y * 0.2;
    }
    this.points.geometry.attributes.color.needsUpdate = true;
  }
  // Removed neurons: red points that fade out where they were.
  ghosts(parent, removedSlots) {
    if (!removedSlots.length) return;
    const pos = new Float32Array(removedSlots.length * 3);
    removedSlots.forEach((s, i) => slotPosition(s, pos, 3 * i));
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(pos, 3));
    const m = new THREE.PointsMaterial({ size: 0.3, color: 0xff2a2a, transparent: true, opacity: 0.8 });
    const p = new THREE.Points(g, m);
    p.position.copy(this.center);
    p.userData.age = 0;
    parent.add(p);
    fading.push(p);
  }
}

const world = new THREE.Group();
scene.add(world);
const bundles = new THREE.Group();
scene.add(bundles);
const fading = [];
let clouds = [];
let sceneInfo = null;
let cloudByName = new Map();

function layout() {
  let x = 0;
  const gap = 3;
  const rs = clouds.map((c) => c.radius());
  const total = rs.reduce((a, r) => a + 2 * r, 0) + gap * Math.max(0, clouds.length - 1);
  x = -total / 2;
  clouds.forEach((c, i) => {
    c.center.set(x + rs[i], 0, 0);
    x += 2 * rs[i] + gap;
    if (c.points) c.points.position.copy(c.center);
  });
  const span = Math.max(total, 6);
  if (!layout.placed) { camera.position.set(0, span * 0.35, span * 1.15); layout.placed = true; }
}

function drawBundles() {
  bundles.clear();
  if (!sceneInfo) return;
  for (const p of sceneInfo.projections) {
    const a = cloudByName.get(p.pre), b = cloudByName.get(p.post);
    if (!a || !b) continue;
    const syn = p.synapses == null ? 1000 : p.synapses;
    if (syn === 0) continue;
    const lines = Math.max(4, Math.min(28, Math.round(3 * Math.log10(syn + 1) + 2)));
    const mat = new THREE.LineBasicMaterial({ color: a.color, transparent: true, opacity: 0.28 });
    const ra = a.radius(), rb = b.radius();
    let seed = 1;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) - 0.5;
    for (let l = 0; l < lines; l++) {
      const s = a.center.clone().add(new THREE.Vector3(rnd(), rnd(), rnd()).multiplyScalar(ra));
      const e = b.center.clone().add(new THREE.Vector3(rnd(), rnd(), rnd()).multiplyScalar(rb));
      const mid = s.clone().add(e).multiplyScalar(0.5);
      const lift = a === b ? ra * 2.2 : 0.25 * s.distanceTo(e);
      mid.y += lift; mid.z += rnd() * lift * 0.5;
      const curve = new THREE.QuadraticBezierCurve3(s, mid, e);
      const g = new THREE.BufferGeometry().setFromPoints(curve.getPoints(24));
      bundles.add(new THREE.Line(g, mat));
    }
  }
}

function onScene(s) {
  stats.scenes += 1;
  stats.training = s.training;
  stats.run = s.run;
  $('run').textContent = 'snnsim · ' + s.run + (s.replay ? ' (replay)' : '');
  $('trainbox').hidden = !s.training;
  const same = sceneInfo && sceneInfo.populations.map((p) => p.name).join() === s.populations.map((p) => p.name).join();
  sceneInfo = s;
  if (!same) {
    clouds.forEach((c) => c.points && world.remove(c.points));
    clouds = s.populations.map((p, i) => new Cloud(p.name, i));
    cloudByName = new Map(clouds.map((c) => [c.name, c]));
  }
  s.populations.forEach((p) => {
    const c = cloudByName.get(p.name);
    if (!same || c.size !== p.size || p.ids) { c.set(p.size, p.ids || null); }
    noteSize(p.name, p.size);
  });
  layout();
  clouds.forEach((c) => c.build(world));
  drawBundles();
}

function noteSize(name, size) {
  stats.sizes[name] = size;
  const seen = stats.sizesSeen[name] || (stats.sizesSeen[name] = []);
  if (seen[seen.length - 1] !== size) seen.push(size);
}

// ---- raster ----
const raster = $('raster'), rctx = raster.getContext('2d');
let rasterSpikes = [];  // [absolute step, cloud index, fraction]
let rasterFrames = [];  // [from, to] of recent frames
function rasterAdd(frame) {
  if (!sceneInfo) return;
  if (stats.training) {
    rasterSpikes = [];
    rasterFrames = [[0, 1]];
  }
  let lo = Infinity, hi = 0;
  clouds.forEach((c, k) => {
    const flat = frame.sample[c.name];
    if (!flat) return;
    const size = Math.max(1, c.size);
    for (let j = 0; j < flat.length; j += 2) {
      const s = (frame.from || 0) + flat[j];
      rasterSpikes.push([s, k, flat[j + 1] / size]);
      lo = Math.min(lo, s); hi = Math.max(hi, s);
    }
  });
  if (stats.training) {
    rasterFrames = [[0, Math.max(hi + 1, 1)]];
  } else {
    const to = frame.totals.step;
    rasterFrames.push([frame.from || 0, to]);
    if (rasterFrames.length > 60) rasterFrames.shift();
    const start = rasterFrames[0][0];
    rasterSpikes = rasterSpikes.filter((s) => s[0] >= start);
  }
}
function drawRaster() {
  const W = raster.width, H = raster.height;
  rctx.fillStyle = '#0b0e14';
  rctx.fillRect(0, 0, W, H);
  if (!rasterFrames.length || !clouds.length) return;
  const start = rasterFrames[0][0], end = Math.max(rasterFrames[rasterFrames.length - 1][1], start + 1);
  const band = H / clouds.length;
  clouds.forEach((c, k) => {
    rctx.fillStyle = '#' + c.color.getHexString();
    rctx.globalAlpha = 0.12;
    rctx.fillRect(0, k * band, W, 1);
    rctx.globalAlpha = 1;
    rctx.fillText(c.name, 3, k * band + 11);
  });
  for (const [s, k, f] of rasterSpikes) {
    rctx.fillStyle = '#' + clouds[k].color.getHexString();
    rctx.fillRect(((s - start) / (end - start)) * W, k * band + Math.min(f, 1) * (band - 2) + 1, 1.5, 1.5);
  }
}

// ---- rates and totals ----
let lastTotals = null, lastT = 0;
const rates = {};
function updateTable(t) {
  const body = $('rates').tBodies[0];
  const rows = [];
  if (!stats.training) {
    const dt = lastTotals ? (t.t_ms - lastTotals.t_ms) / 1000 : 0;
    for (const name of Object.keys(t.spikes)) {
      const size = t.sizes[name] || 0;
      if (lastTotals && dt > 0 && size > 0) rates[name] = (t.spikes[name] - lastTotals.spikes[name]) / size / dt;
      rows.push([name, size, t.spikes[name], rates[name] == null ? '–' : rates[name].toFixed(2)]);
      noteSize(name, size);
    }
  } else {
    const dtMs = sceneInfo ? sceneInfo.dt_ms : 1;
    const hid = sceneInfo ? sceneInfo.populations[1].name : 'hidden';
    const epSteps = lastEpisodeSteps || 1;
    rows.push([hid, t.hidden_size, t.hidden_spikes,
      (t.last_episode_spikes / Math.max(1, t.hidden_size) / (epSteps * dtMs / 1000)).toFixed(2)]);
    noteSize(hid, t.hidden_size);
  }
  body.innerHTML = rows.map((r) => '<tr>' + r.map((x) => '<td>' + x + '</td>').join('') + '</tr>').join('');
  $('counters').textContent = JSON.stringify(t, null, 1);
  lastTotals = t;
}

// ---- learning curve ----
const curve = [];
let lastEpisodeSteps = 0;
const cctx = $('curve').getContext('2d');
function drawCurve() {
  const cv = $('curve'), W = cv.width, H = cv.height;
  cctx.fillStyle = '#0b0e14';
  cctx.fillRect(0, 0, W, H);
  if (curve.length < 2) return;
  const e0 = curve[0][0], e1 = curve[curve.length - 1][0] || 1;
  const x = (e) => ((e - e0) / Math.max(1, e1 - e0)) * (W - 30) + 25;
  const win = Math.max(1, Math.min(100, Math.floor(curve.length / 10)));
  let sum = 0; const ma = [];
  curve.forEach((p, i) => { sum += p[1]; if (i >= win) sum -= curve[i - win][1]; ma.push(sum / Math.min(i + 1, win)); });
  const fmax = Math.max(1, ...ma), hmax = Math.max(1, ...curve.map((p) => p[3]));
  cctx.strokeStyle = '#a3be8c'; cctx.beginPath();
  curve.forEach((p, i) => { const y = H - 12 - (ma[i] / fmax) * (H - 24); i ? cctx.lineTo(x(p[0]), y) : cctx.moveTo(x(p[0]), y); });
  cctx.stroke();
  cctx.strokeStyle = '#d08770'; cctx.beginPath();
  curve.forEach((p, i) => { const y = H - 12 - (p[3] / hmax) * (H - 24); i ? cctx.lineTo(x(p[0]), y) : cctx.moveTo(x(p[0]), y); });
  cctx.stroke();
  cctx.fillStyle = '#8a93a5';
  cctx.fillText('food ' + fmax.toFixed(2), 28, 10);
  cctx.fillText('hidden ' + hmax, W - 80, 10);
  cctx.fillText('episode ' + e1, W - 90, H - 2);
}

// ---- the stream ----
function onFrame(f) {
  stats.frames += 1;
  stats.totals = f.totals;
  updateTable(f.totals);
  if (f.curve) {
    // Points after the last one held (a new viewer's `curve` event may overlap the frame).
    const lastEp = curve.length ? curve[curve.length - 1][0] : -1;
    for (const p of f.curve) if (p[0] > lastEp) curve.push(p);
    // Keep it bounded: drop every other point of the older half.
    if (curve.length > 4000) {
      const old = curve.splice(0, 2000);
      curve.unshift(...old.filter((_, i) => i % 2 === 0));
    }
  }
  if (f.ids && sceneInfo) {
    for (const [name, ids] of Object.entries(f.ids)) {
      const c = cloudByName.get(name);
      if (!c) continue;
      const before = c.ids ? c.slots.slice() : [];
      const now = new Set(ids);
      const removed = before.filter((s) => !now.has(s));
      c.set(ids.length, ids);
      layout();
      c.build(world);
      c.ghosts(world, removed);
      drawBundles();
      noteSize(name, ids.length);
    }
  }
  if (paused) return;
  if (stats.training && f.sample) {
    let hi = 0;
    for (const flat of Object.values(f.sample)) for (let j = 0; j < flat.length; j += 2) hi = Math.max(hi, flat[j] + 1);
    if (hi) lastEpisodeSteps = hi;
  }
  for (const [name, flat] of Object.entries(f.sample || {})) {
    const c = cloudByName.get(name);
    if (!c) continue;
    for (let j = 1; j < flat.length; j += 2) c.light(flat[j]);
    stats.sampled += flat.length / 2;
  }
  rasterAdd(f);
  $('status').textContent = (sceneInfo && sceneInfo.replay ? 'replay' : 'live') + ' · ' +
    (stats.training ? 'episode ' + f.totals.episodes : 'step ' + f.totals.step + ' · ' + f.totals.t_ms.toFixed(1) + ' ms');
}

const es = new EventSource('/events');
es.onopen = () => { stats.connected = true; };
es.addEventListener('scene', (e) => onScene(JSON.parse(e.data)));
es.addEventListener('curve', (e) => { curve.length = 0; for (const p of JSON.parse(e.data).points) curve.push(p); });
es.addEventListener('frame', (e) => onFrame(JSON.parse(e.data)));
es.addEventListener('end', (e) => {
  const d = JSON.parse(e.data);
  stats.totals = d.totals;
  updateTable(d.totals);
  stats.ended = true;
  $('status').textContent = 'ended · ' + (d.training ? d.totals.episodes + ' episodes' : d.totals.step + ' steps');
  es.close();
});
es.onerror = () => { if (!stats.ended) $('status').textContent = 'disconnected'; };

// ---- animation ----
let prev = performance.now();
function animate(now) {
  requestAnimationFrame(animate);
  const dt = Math.min(0.1, (now - prev) / 1000) * speed;
  prev = now;
  if (!paused) {
    clouds.forEach((c) => c.paint(dt));
    // Removed neurons fade over 0.8 s of wall time (÷ speed), however slowly frames come.
    const wall = ((now - (animate.last || now)) / 1000) * speed;
    for (let i = fading.length - 1; i >= 0; i--) {
      const m = fading[i].material;
      fading[i].userData.age += wall;
      m.opacity = 0.8 * (1 - fading[i].userData.age / 0.8);
      if (m.opacity <= 0) { world.remove(fading[i]); fading[i].geometry.dispose(); fading.splice(i, 1); }
    }
    world.rotation.y += dt * 0.05;
    bundles.rotation.y = world.rotation.y;
  }
  animate.last = now;
  controls.update();
  renderer.render(scene, camera);
  stats.rendered += 1;
  drawRaster();
  if (stats.training) drawCurve();
}
requestAnimationFrame(animate);
