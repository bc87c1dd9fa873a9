#!/usr/bin/env python3
"""The live view in a real browser (run by .ci/view; docs/monitoring.md, "The live view").

Starts headless chromium (a fresh profile, no network services) and drives it through its
DevTools protocol over a pipe (--remote-debugging-pipe: JSON messages ended by NUL on fds 3
and 4, so no WebSocket client is needed). Then, for each case:

  network  a CUBA run with --view --view-port 0: the page must receive frames and, at the
           end, show per-population spike counts equal to summary.json's and to the rows of
           spikes.csv, with edit counters equal to edits.csv (none here);
  growing  a short foraging run whose structural policy grows and prunes the hidden
           population: the page's growth and pruning counters, neurons grown and pruned,
           final hidden size, hidden spikes (sum of energy / hidden size of metrics.csv) and
           last-episode spikes (rows of spikes.csv) must equal the run's files, and the page
           must have seen the hidden size change;
  replay   `snnsim view` of the network run: the replayed totals equal spikes.csv's; then of
           the growing run (recorded with --record-activity): its totals equal the summary's,
           the hidden size changes on the page and the recorded activity is drawn.

Each case takes a screenshot (Page.captureScreenshot) and checks that the 3D canvas is not
blank: enough pixels differ from the background and there are several colours.

usage: tests/view_browser.py SNNSIM_BINARY [--screenshots DIR]
Exit status 0 when every check holds; the failing check is printed otherwise.
"""
import base64
import csv
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


class Browser:
    """Headless chromium driven over --remote-debugging-pipe."""

    def __init__(self, binary, profile):
        cmd_r, self.cmd_w = os.pipe()
        self.resp_r, resp_w = os.pipe()

        def fds():
            # Copies first: a pipe end may already be fd 3 or 4, and dup2 onto itself would
            # leave it close-on-exec.
            a, b = os.dup(cmd_r), os.dup(resp_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu",
             "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
             "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--no-default-browser-check",
             "--disable-extensions", "--mute-audio", "--hide-scrollbars",
             "--window-size=1400,800", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(cmd_r)
        os.close(resp_w)
        self.buf = b""
        self.next_id = 0
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": page["targetId"], "flatten": True})["sessionId"]

    def call(self, method, params=None, session=None, timeout=60):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.cmd_w, json.dumps(msg).encode() + b"\0")
        t0 = time.time()
        while time.time() - t0 < timeout:
            while b"\0" not in self.buf:
                chunk = os.read(self.resp_r, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed its DevTools pipe")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            m = json.loads(raw)
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m["result"]
        raise RuntimeError(f"{method}: no answer in {timeout} s")

    def page(self, method, params=None):
        return self.call(method, params, session=self.session)

    def navigate(self, url):
        self.page("Page.navigate", {"url": url})

    def stats(self):
        r = self.page("Runtime.evaluate", {
            "expression": "JSON.stringify(window.snnsimStats || null)", "returnByValue": True})
        return json.loads(r["result"].get("value") or "null")

    def screenshot(self):
        return base64.b64decode(self.page("Page.captureScreenshot", {"format": "png"})["data"])

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def png_pixels(data):
    """(width, height, rows of RGB(A) bytes) of an 8-bit, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0 and ctype in (2, 6), (depth, ctype, interlace)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def canvas_facts(png, right_panel=440):
    """Pixels of the 3D area (left of the side panel) that differ from the background, and
    distinct colours there (sampled every 2 pixels)."""
    w, h, bpp, rows = png_pixels(png)
    bg = (0x0b, 0x0e, 0x14)
    lit, colours = 0, set()
    for y in range(0, h, 2):
        row = rows[y]
        for x in range(0, w - right_panel, 2):
            r, g, b = row[x * bpp], row[x * bpp + 1], row[x * bpp + 2]
            if abs(r - bg[0]) + abs(g - bg[1]) + abs(b - bg[2]) > 24:
                lit += 1
                colours.add((r >> 4, g >> 4, b >> 4))
    return lit, len(colours)


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)
    print(f"ok: {what}")


def start_view(cmd):
    """Starts an snnsim command that prints `view at http://...`; returns (process, url)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        if line.startswith("view at "):
            return proc, line.split()[2]
    proc.wait()
    raise RuntimeError(f"{cmd}: no `view at` line (exit {proc.returncode})")


def wait_for(browser, cond, timeout, what):
    t0, s = time.time(), None
    while time.time() - t0 < timeout:
        s = browser.stats()
        if s and cond(s):
            return s
        time.sleep(0.2)
    print(f"FAIL: {what} within {timeout} s; page stats: {json.dumps(s)[:2000]}")
    sys.exit(1)


def rows(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def blank_check(browser, name, shots):
    png = browser.screenshot()
    if shots:
        with open(os.path.join(shots, f"view-{name}.png"), "wb") as f:
            f.write(png)
    lit, colours = canvas_facts(png)
    check(lit > 2000 and colours >= 8,
          f"{name}: the 3D canvas is drawn ({lit} lit pixels, {colours} colours)")


def network_case(exe, browser, tmp, shots):
    out = os.path.join(tmp, "cuba")
    proc, url = start_view([exe, "run", os.path.join(ROOT, "graphs/cuba.ron"), "--out", out,
                            "--quiet", "--view", "--view-port", "0", "--threads", "1",
                            "--duration-ms", "40000"])
    browser.navigate(url)
    s = wait_for(browser, lambda s: s["frames"] >= 10 and s["rendered"] >= 10, 60,
                 "network: 10 frames drawn")
    check(s["webgl"], "network: WebGL context (SwiftShader)")
    blank_check(browser, "network", shots)
    s = wait_for(browser, lambda s: s["ended"], 120, "network: the end of the run")
    proc.wait(timeout=60)
    check(proc.returncode == 0, "network: the run succeeded")
    summary = json.load(open(os.path.join(out, "summary.json")))
    spikes = rows(os.path.join(out, "spikes.csv"))
    for pop, p in summary["populations"].items():
        page = s["totals"]["spikes"][pop]
        in_csv = sum(1 for r in spikes if r["population"] == pop)
        check(page == p["spikes"] == in_csv,
              f"network: {pop} spikes on the page {page} = summary {p['spikes']} = spikes.csv {in_csv}")
    edits = rows(os.path.join(out, "edits.csv"))
    check(s["totals"]["edit_batches"] == len(edits), "network: edit batches = rows of edits.csv")
    check(s["totals"]["step"] == summary["steps"], "network: steps = summary")
    print(f"   frames received {s['frames']}, spikes drawn {s['sampled']}")
    return out, summary


def growing_case(exe, browser, tmp, shots):
    out = os.path.join(tmp, "grow")
    proc, url = start_view([exe, "run", os.path.join(ROOT, "graphs/foraging-aggressive-growth.ron"),
                            "--out", out, "--quiet", "--no-metrics", "--view", "--view-port", "0",
                            "--threads", "1", "--episodes", "1600", "--record-activity"])
    browser.navigate(url)
    # Mid-run: the hidden population has changed size a few times.
    wait_for(browser, lambda s: s["ended"] or len(s["sizesSeen"].get("hidden", [])) >= 6, 300,
             "growing: six hidden sizes")
    blank_check(browser, "growing", shots)
    s = wait_for(browser, lambda s: s["ended"], 300, "growing: the end of the run")
    proc.wait(timeout=60)
    check(proc.returncode == 0, "growing: the run succeeded")
    summary = json.load(open(os.path.join(out, "summary.json")))
    edits = rows(os.path.join(out, "edits.csv"))
    metrics = rows(os.path.join(out, "metrics.csv"))
    spikes = rows(os.path.join(out, "spikes.csv"))
    t = s["totals"]
    grown = sum(int(e["count"]) for e in edits if e["kind"] == "grow")
    pruned = sum(int(e["count"]) for e in edits if e["kind"] == "prune")
    hidden_spikes = sum(round(float(m["energy"]) / int(m["hidden_size"]))
                        for m in metrics if int(m["hidden_size"]) > 0)
    check(t["episodes"] == summary["episodes"] == len(metrics), "growing: episodes")
    check(t["growth_events"] == summary["growth_events"], f"growing: growth events {t['growth_events']}")
    check(t["pruning_events"] == summary["pruning_events"], f"growing: pruning events {t['pruning_events']}")
    check(t["neurons_grown"] == grown and t["neurons_pruned"] == pruned,
          f"growing: neurons grown {grown}, pruned {pruned} (edits.csv)")
    check(t["edits"] == len(edits), "growing: rows of edits.csv")
    check(t["hidden_size"] == summary["final_hidden_size"], f"growing: hidden size {t['hidden_size']}")
    check(t["hidden_spikes"] == hidden_spikes, f"growing: hidden spikes {hidden_spikes} (metrics.csv)")
    check(t["last_episode_spikes"] == len(spikes), "growing: last episode's spikes (spikes.csv)")
    hidden = [k for k in s["sizesSeen"] if k not in ("input", "readout")][0]
    seen = s["sizesSeen"][hidden]
    check(summary["growth_events"] > 0 and len(set(seen)) > 1,
          f"growing: the page saw the hidden size change: {seen[:12]}")
    return out, summary


def replay_growing_case(exe, browser, grow_dir, summary, shots):
    proc, url = start_view([exe, "view", grow_dir, "--view-port", "0", "--speed", "8"])
    try:
        browser.navigate(url)
        s = wait_for(browser, lambda s: s["ended"], 120, "growing replay: the end")
        t = s["totals"]
        check(t["episodes"] == summary["episodes"] and t["hidden_size"] == summary["final_hidden_size"]
              and t["growth_events"] == summary["growth_events"]
              and t["pruning_events"] == summary["pruning_events"],
              "growing replay: episodes, hidden size, growth and pruning events = summary")
        seen = s["sizesSeen"]["hidden"]
        check(len(set(seen)) > 1, f"growing replay: the hidden size changed on the page: {seen[:12]}")
        check(s["sampled"] > 1000, f"growing replay: recorded activity drawn ({s['sampled']} spikes)")
        blank_check(browser, "growing-replay", shots)
    finally:
        proc.kill()
        proc.wait()


def replay_case(exe, browser, cuba_dir, summary, shots):
    proc, url = start_view([exe, "view", cuba_dir, "--view-port", "0", "--speed", "20"])
    try:
        browser.navigate(url)
        s = wait_for(browser, lambda s: s["ended"], 120, "replay: the end of the replay")
        for pop, p in summary["populations"].items():
            check(s["totals"]["spikes"][pop] == p["spikes"], f"replay: {pop} spikes {p['spikes']}")
        blank_check(browser, "replay", shots)
    finally:
        proc.kill()
        proc.wait()


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__)
        sys.exit(2)
    exe = os.path.abspath(args[0])
    shots = None
    if "--screenshots" in args:
        shots = args[args.index("--screenshots") + 1]
        os.makedirs(shots, exist_ok=True)
    chromium = find_chromium()
    if not chromium:
        print("FAIL: no chromium on PATH (apt-get install chromium)")
        sys.exit(1)
    with tempfile.TemporaryDirectory() as tmp:
        browser = Browser(chromium, os.path.join(tmp, "profile"))
        try:
            cuba, summary = network_case(exe, browser, tmp, shots)
            grow, grow_summary = growing_case(exe, browser, tmp, shots)
            replay_case(exe, browser, cuba, summary, shots)
            replay_growing_case(exe, browser, grow, grow_summary, shots)
        finally:
            browser.close()
    print("view in the browser: all checks hold")


if __name__ == "__main__":
    main()
