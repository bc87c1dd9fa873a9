//! `snnsim view RUN_DIR`: a finished run's files played through the live view's page.
//!
//! A network run replays `spikes.csv` (and `edits.csv`) in simulated time, `speed` times real
//! time; a training run replays `metrics.csv` and `edits.csv` at `speed` × 100 episodes a
//! second, draws the recorded episodes of `activity.csv` (written with `--record-activity`)
//! as their turn comes, and `spikes.csv` (the hidden spikes of the last episode, all a
//! training run records otherwise) in its last frame. The frames are the live view's, with the same
//! bound on the drawing stream; the counters are exact counts of the rows played so far, so
//! that the end's totals are the files' totals. `edits.csv` of a training run holds counts,
//! not ids: a replayed pruning removes evenly spaced neurons of the drawn cloud.
//!
//! Playback starts when the first viewer connects (a replay has nothing to show before), and
//! the page stays served after the end until the process is stopped.

use super::frame::{self, NetTotals, Sampler, ScenePop, SceneProj, TrainTotals, SAMPLE};
use super::hub::{event, Hub};
use super::{server::Server, ViewOptions};
use crate::error::{Error, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What `snnsim view` does; `served` is told the address before playback.
pub fn replay(
    dir: &Path,
    opts: ViewOptions,
    speed: f64,
    served: &mut dyn FnMut(std::net::SocketAddr),
) -> Result<()> {
    if !(speed.is_finite() && speed > 0.0) {
        return Err(Error::Input(format!(
            "--speed must be a number > 0, got {speed}"
        )));
    }
    let config = dir.join("config.ron");
    if !config.exists() {
        return Err(Error::Input(format!(
            "{}: no config.ron; is {} a run directory written by `snnsim run`?",
            config.display(),
            dir.display()
        )));
    }
    let file = crate::file::Source::read(&config)?.parse()?;
    let run = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let hub = Hub::new();
    let server = Server::start(hub.clone(), opts.addr, opts.port)?;
    served(server.addr());
    while hub.stats().served == 0 {
        std::thread::sleep(Duration::from_millis(50));
    }
    if file.task.is_some() {
        replay_training(dir, &file, &run, &hub, speed)?;
    } else {
        replay_network(dir, &file, &run, &hub, speed)?;
    }
    // Keep serving the end (a reloaded page shows it) until the process is stopped.
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

fn read_csv(path: &Path) -> Result<Vec<Vec<String>>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect())
}

fn field<T: std::str::FromStr>(path: &Path, row: usize, cols: &[String], k: usize) -> Result<T> {
    cols.get(k).and_then(|s| s.parse().ok()).ok_or_else(|| {
        Error::Input(format!(
            "{}: line {}: column {} is missing or not a number",
            path.display(),
            row + 2,
            k + 1
        ))
    })
}

fn projections(file: &crate::file::GraphFile) -> Vec<SceneProj> {
    file.projections
        .iter()
        .map(|p| SceneProj {
            name: p
                .name
                .clone()
                .unwrap_or_else(|| format!("{}->{}", p.pre, p.post)),
            pre: p.pre.clone(),
            post: p.post.clone(),
            synapses: None,
        })
        .collect()
}

/// Sleeps until `at` (wall time since `t0`).
fn wait_until(t0: Instant, at: f64) {
    let now = t0.elapsed().as_secs_f64();
    if at > now {
        std::thread::sleep(Duration::from_secs_f64(at - now));
    }
}

fn replay_network(
    dir: &Path,
    file: &crate::file::GraphFile,
    run: &str,
    hub: &Hub,
    speed: f64,
) -> Result<()> {
    let dt = file.dt_ms;
    let names: Vec<String> = file.populations.iter().map(|p| p.name.clone()).collect();
    let pops: Vec<ScenePop> = file
        .populations
        .iter()
        .map(|p| ScenePop {
            name: p.name.clone(),
            size: p.size,
            ids: None,
        })
        .collect();
    let scene = frame::scene(run, false, dt, &pops, &projections(file), true);
    hub.scene(event("scene", &scene));
    let path = dir.join("spikes.csv");
    let mut spikes: Vec<(u64, usize, u32)> = Vec::new();
    if path.exists() {
        for (r, cols) in read_csv(&path)?.iter().enumerate() {
            let t: f64 = field(&path, r, cols, 0)?;
            let pop = cols.get(1).map(String::as_str).unwrap_or("");
            let k = names.iter().position(|n| n == pop).ok_or_else(|| {
                Error::Input(format!(
                    "{}: line {}: population `{pop}` is not in config.ron",
                    path.display(),
                    r + 2
                ))
            })?;
            spikes.push(((t / dt).round() as u64, k, field(&path, r, cols, 2)?));
        }
    }
    let epath = dir.join("edits.csv");
    let mut edits: Vec<(u64, u64, u64)> = Vec::new();
    if epath.exists() {
        for (r, cols) in read_csv(&epath)?.iter().enumerate() {
            let t: f64 = field(&epath, r, cols, 0)?;
            edits.push((
                (t / dt).round() as u64,
                field(&epath, r, cols, 3)?,
                field(&epath, r, cols, 4)?,
            ));
        }
    }
    let steps = summary_steps(dir)
        .unwrap_or_else(|| (file.duration_ms / dt).round() as u64)
        .max(spikes.last().map_or(0, |s| s.0 + 1));
    let mut totals = NetTotals {
        sizes: pops.iter().map(|p| (p.name.clone(), p.size)).collect(),
        spikes: names.iter().map(|n| (n.clone(), 0)).collect(),
        ..NetTotals::default()
    };
    let mut sampler = Sampler::new(names.len(), SAMPLE);
    let (mut si, mut ei, mut from) = (0, 0, 0u64);
    let t0 = Instant::now();
    let mut tick = 0u64;
    loop {
        tick += 1;
        let at = tick as f64 / frame::FPS as f64;
        // Steps covered by this frame: simulated time runs `speed` times wall time.
        let until = ((at * 1000.0 * speed / dt) as u64).min(steps);
        wait_until(t0, at);
        while si < spikes.len() && spikes[si].0 < until {
            let (s, k, i) = spikes[si];
            sampler.offer(k, (s - from) as u32, i);
            *totals.spikes.get_mut(&names[k]).expect("known") += 1;
            si += 1;
        }
        while ei < edits.len() && edits[ei].0 <= until {
            totals.edit_batches += 1;
            totals.synapses_removed += edits[ei].1;
            totals.synapses_added += edits[ei].2;
            ei += 1;
        }
        totals.step = until;
        totals.t_ms = until as f64 * dt;
        let (sample, seen) = sampler.take(&names);
        hub.frame(event(
            "frame",
            &json!({ "totals": &totals, "from": from, "sample": sample, "seen": seen }),
        ));
        from = until;
        if until >= steps {
            break;
        }
    }
    hub.end(event(
        "end",
        &json!({ "training": false, "totals": totals }),
    ));
    Ok(())
}

fn summary_steps(dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["steps"].as_u64()
}

fn replay_training(
    dir: &Path,
    file: &crate::file::GraphFile,
    run: &str,
    hub: &Hub,
    speed: f64,
) -> Result<()> {
    let agent = file
        .task
        .as_ref()
        .and_then(|t| t.agent())
        .expect("a training file");
    let mpath = dir.join("metrics.csv");
    let metrics = read_csv(&mpath)?;
    let epath = dir.join("edits.csv");
    let edits = if epath.exists() {
        read_csv(&epath)?
    } else {
        Vec::new()
    };
    let first_size: usize = match metrics.first() {
        Some(c) => field(&mpath, 0, c, 4)?,
        None => file
            .populations
            .iter()
            .find(|p| p.name == agent.hidden)
            .map_or(0, |p| p.size),
    };
    // Stable ids of the drawn hidden cloud: growth appends new ones, pruning removes evenly
    // spaced ones (edits.csv has no ids).
    let mut ids: Vec<u64> = (0..first_size as u64).collect();
    let mut next_id = first_size as u64;
    let order = [&agent.input, &agent.hidden, &agent.readout];
    let pops: Vec<ScenePop> = order
        .iter()
        .filter_map(|n| file.populations.iter().find(|p| &&p.name == n))
        .map(|p| ScenePop {
            name: p.name.clone(),
            size: if p.name == agent.hidden {
                first_size
            } else {
                p.size
            },
            ids: (p.name == agent.hidden).then(|| ids.clone()),
        })
        .collect();
    let scene = frame::scene(run, true, file.dt_ms, &pops, &projections(file), true);
    hub.scene(event("scene", &scene));
    // `--record-activity` runs: the hidden spikes of every recorded episode.
    let apath = dir.join("activity.csv");
    let mut activity: BTreeMap<u64, Vec<(u32, u32)>> = BTreeMap::new();
    if apath.exists() {
        for (r, c) in read_csv(&apath)?.iter().enumerate() {
            let ep: u64 = field(&apath, r, c, 0)?;
            let t: f64 = field(&apath, r, c, 1)?;
            activity
                .entry(ep)
                .or_default()
                .push(((t / file.dt_ms).round() as u32, field(&apath, r, c, 2)?));
        }
    }
    let mut drawn: Option<u64> = None;
    let rate = 100.0 * speed;
    let mut totals = TrainTotals {
        hidden_size: first_size,
        ..TrainTotals::default()
    };
    let (mut mi, mut ei) = (0usize, 0usize);
    let t0 = Instant::now();
    let mut tick = 0u64;
    loop {
        tick += 1;
        let at = tick as f64 / frame::FPS as f64;
        let until = ((at * rate) as usize).min(metrics.len());
        wait_until(t0, at);
        let mut curve = Vec::new();
        while mi < until {
            let c = &metrics[mi];
            let (episode, ret, food): (u64, f64, f64) = (
                field(&mpath, mi, c, 0)?,
                field(&mpath, mi, c, 1)?,
                field(&mpath, mi, c, 2)?,
            );
            let (hidden, energy): (usize, f64) =
                (field(&mpath, mi, c, 4)?, field(&mpath, mi, c, 7)?);
            if hidden > 0 {
                totals.hidden_spikes += (energy / hidden as f64).round() as u64;
            }
            curve.push([episode as f64, food, ret, hidden as f64]);
            totals.episodes = mi as u64 + 1;
            mi += 1;
        }
        let mut sent = Vec::new();
        while ei < edits.len() {
            let c = &edits[ei];
            let episode: u64 = field(&epath, ei, c, 0)?;
            if episode > totals.episodes {
                break;
            }
            let kind = c.get(1).cloned().unwrap_or_default();
            let count: usize = field(&epath, ei, c, 2)?;
            let size_after: usize = field(&epath, ei, c, 3)?;
            let mut changed = Vec::new();
            totals.edits += 1;
            match kind.as_str() {
                "grow" => {
                    totals.growth_events += 1;
                    totals.neurons_grown += count as u64;
                    for _ in 0..count {
                        ids.push(next_id);
                        changed.push(next_id);
                        next_id += 1;
                    }
                }
                "prune" => {
                    totals.pruning_events += 1;
                    totals.neurons_pruned += count as u64;
                    let n = ids.len();
                    let picks: Vec<usize> =
                        (0..count.min(n)).map(|j| j * n / count.max(1)).collect();
                    for &p in picks.iter().rev() {
                        changed.push(ids.remove(p));
                    }
                }
                _ => {}
            }
            totals.hidden_size = size_after;
            sent.push(json!({ "episode": episode, "kind": kind, "count": count,
                              "size_after": size_after, "ids": changed }));
            ei += 1;
        }
        let done = mi >= metrics.len() && ei >= edits.len();
        let mut sampler = Sampler::new(1, SAMPLE);
        if let Some((&ep, spikes)) = activity.range(..totals.episodes).next_back() {
            if drawn != Some(ep) && !done {
                drawn = Some(ep);
                for &(step, i) in spikes {
                    sampler.offer(0, step, i);
                }
                totals.last_episode_spikes = spikes.len() as u64;
            }
        }
        if done {
            let spath = dir.join("spikes.csv");
            if spath.exists() {
                let rows = read_csv(&spath)?;
                for (r, c) in rows.iter().enumerate() {
                    let t: f64 = field(&spath, r, c, 0)?;
                    sampler.offer(0, (t / file.dt_ms).round() as u32, field(&spath, r, c, 2)?);
                }
                totals.last_episode_spikes = rows.len() as u64;
            }
        }
        hub.curve(&curve);
        let (sample, seen) = sampler.take(std::slice::from_ref(&agent.hidden));
        let mut idmap = BTreeMap::new();
        idmap.insert(agent.hidden.clone(), ids.clone());
        let send_ids = !sent.is_empty() || tick == 1;
        if !sent.is_empty() {
            // A new viewer gets the hidden cloud as it is now.
            let pops: Vec<ScenePop> = pops
                .iter()
                .map(|p| ScenePop {
                    ids: p.ids.as_ref().map(|_| ids.clone()),
                    size: if p.ids.is_some() { ids.len() } else { p.size },
                    name: p.name.clone(),
                })
                .collect();
            let scene = frame::scene(run, true, file.dt_ms, &pops, &projections(file), true);
            hub.replace_scene(event("scene", &scene));
        }
        hub.frame(event(
            "frame",
            &json!({ "totals": &totals, "sample": sample, "seen": seen, "curve": curve,
                     "edits": sent, "ids": if send_ids { json!(idmap) } else { json!(null) } }),
        ));
        if done {
            break;
        }
    }
    hub.end(event("end", &json!({ "training": true, "totals": totals })));
    Ok(())
}
