//! Whole networks against published statistics: CUBA and COBAHH against Brian2 over 5 seeds
//! (the connectivity differs, so the comparison is statistical: the rule of
//! tests/reference/README.md §4), and the COBA rate of Brette et al. (2007).

use crate::common::{reference, root};
use snnsim::engine::Engine;
use snnsim::file::Source;
use snnsim::models::validate_parsed;

/// Runs a graph file of two populations `exc` and `inh` with `seed`; returns per-neuron spike
/// times in ms (exc neurons first) and the number of neurons.
fn simulate(file: &str, seed: u64) -> (Vec<Vec<f64>>, f64) {
    let src = Source::read(&root().join(file)).unwrap();
    let mut parsed = src.parse().unwrap();
    parsed.seed = seed;
    let checked = validate_parsed(parsed, &src).unwrap();
    let mut e = Engine::from_file(&checked).unwrap();
    e.run(checked.steps()).unwrap();
    let n_exc = e.net.population("exc").unwrap().len();
    let n = n_exc + e.net.population("inh").unwrap().len();
    let mut trains = vec![Vec::new(); n];
    for &(step, pop, i) in &e.spikes.events {
        // Recorded populations are in name order: exc (0), inh (1).
        let j = if pop == 0 {
            i as usize
        } else {
            n_exc + i as usize
        };
        trains[j].push(step as f64 * e.dt_ms);
    }
    (trains, e.time_ms())
}

struct Stats {
    rate_hz: f64,
    cv_isi: f64,
    silent: f64,
    fano: f64,
}

/// The statistics of the reference README §4, over the window [0, t_end).
fn stats(trains: &[Vec<f64>], t_end: f64) -> Stats {
    let n = trains.len() as f64;
    let total: usize = trains.iter().map(Vec::len).sum();
    let rate_hz = total as f64 / n / (t_end / 1000.0);
    let cvs: Vec<f64> = trains
        .iter()
        .filter(|t| t.len() >= 3)
        .map(|t| {
            let isi: Vec<f64> = t.windows(2).map(|w| w[1] - w[0]).collect();
            let m = isi.iter().sum::<f64>() / isi.len() as f64;
            let var = isi.iter().map(|x| (x - m).powi(2)).sum::<f64>() / isi.len() as f64;
            var.sqrt() / m
        })
        .collect();
    let cv_isi = cvs.iter().sum::<f64>() / cvs.len() as f64;
    let silent = trains.iter().filter(|t| t.is_empty()).count() as f64 / n;
    let bins = (t_end / 10.0).round() as usize;
    let mut counts = vec![0f64; bins];
    for t in trains.iter().flatten() {
        counts[((t / 10.0) as usize).min(bins - 1)] += 1.0;
    }
    let m = counts.iter().sum::<f64>() / bins as f64;
    let var = counts.iter().map(|c| (c - m).powi(2)).sum::<f64>() / bins as f64;
    Stats {
        rate_hz,
        cv_isi,
        silent,
        fano: var / m,
    }
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0);
    (m, v.sqrt())
}

/// Brian2's mean and sample standard deviation of `statistic` over its 5 seeds, full window
/// (tests/reference/brian2_cuba_stats.json, written by tests/reference/gen/gen_brian2_cuba.py).
fn brian2_cuba(statistic: &str) -> (f64, f64) {
    brian2_summary("brian2_cuba_stats.json", statistic)
}

/// Mean and sample standard deviation of `statistic` over the seeds of a Brian2 statistics
/// file in tests/reference/, full window 0–1000 ms.
fn brian2_summary(file: &str, statistic: &str) -> (f64, f64) {
    let r = reference(file);
    let s = &r["summary"]["full_0_1000ms"][statistic];
    let (mean, std) = (s["mean"].as_f64(), s["std"].as_f64());
    (
        mean.unwrap_or_else(|| panic!("{statistic}: no mean")),
        std.unwrap_or_else(|| panic!("{statistic}: no std")),
    )
}

/// |mean_sim − mean_ref| ≤ 3·sqrt(s_ref²/5 + s_sim²/n) (reference README §4), or within
/// `rel_ok` of the reference mean.
fn agrees(name: &str, sim: &[f64], (ref_mean, ref_std): (f64, f64), rel_ok: f64) {
    let (m, s) = mean_std(sim);
    let bound = 3.0 * (ref_std.powi(2) / 5.0 + s.powi(2) / sim.len() as f64).sqrt();
    eprintln!(
        "{name}: {m:.4} ± {s:.4} (n = {}), Brian2 {ref_mean} ± {ref_std}, bound {bound:.4}",
        sim.len()
    );
    let ok = (m - ref_mean).abs() <= bound || (m - ref_mean).abs() <= rel_ok * ref_mean;
    assert!(
        ok,
        "{name}: {m:.4} ± {s:.4} over {} seeds vs Brian2 {ref_mean} ± {ref_std} (bound {bound:.4})",
        sim.len()
    );
}

/// CUBA (Brian2 examples/CUBA.py), 1 s, 5 seeds; Brian2's figures over 5 seeds, full window
/// 0–1000 ms, from tests/reference/brian2_cuba_stats.json (README §4).
#[test]
fn cuba_statistics_match_brian2_over_five_seeds() {
    let runs: Vec<Stats> = (1..=5u64)
        .map(|seed| {
            let (trains, t) = simulate("graphs/cuba.ron", seed);
            assert_eq!(trains.len(), 4000);
            stats(&trains, t)
        })
        .collect();
    let col = |f: fn(&Stats) -> f64| runs.iter().map(f).collect::<Vec<_>>();
    // Brian2 over its seeds 0-4: 5.71 ± 0.27 Hz, CV 0.524 ± 0.009, silent 0.157 ± 0.020,
    // Fano 14.5 ± 1.9 (README §4).
    agrees(
        "mean rate (Hz)",
        &col(|s| s.rate_hz),
        brian2_cuba("mean_rate_hz"),
        0.05,
    );
    agrees("CV of ISI", &col(|s| s.cv_isi), brian2_cuba("cv_isi"), 0.0);
    agrees(
        "silent fraction",
        &col(|s| s.silent),
        brian2_cuba("silent_fraction"),
        0.0,
    );
    agrees(
        "Fano factor (10 ms)",
        &col(|s| s.fano),
        brian2_cuba("fano_10ms"),
        0.0,
    );
}

/// COBA (Brette et al. 2007, benchmark 1): about 22 Hz. The mean over 5 seeds must lie within
/// 10 % of 22 Hz.
#[test]
fn coba_rate_is_about_22_hz() {
    let rates: Vec<f64> = (1..=5u64)
        .map(|seed| {
            let (trains, t) = simulate("graphs/coba.ron", seed);
            stats(&trains, t).rate_hz
        })
        .collect();
    let (m, _) = mean_std(&rates);
    assert!(
        (m - 22.0).abs() <= 2.2,
        "COBA mean rate {m:.2} Hz ({rates:?})"
    );
}

/// COBAHH (Brian2 examples/COBAHH.py, Brette et al. 2007 benchmark 3), 1 s, seeds 1–5, against
/// Brian2's seeds 0–4 (tests/reference/brian2_cobahh_stats.json, written by
/// tests/reference/gen/gen_brian2_cobahh.py): the rates of both groups, CV of ISI, silent
/// fraction and Fano factor, each within 3 standard errors of the difference (README §4).
#[test]
fn cobahh_statistics_match_brian2_over_five_seeds() {
    let runs: Vec<(Stats, f64, f64)> = (1..=5u64)
        .map(|seed| {
            let (trains, t) = simulate("graphs/cobahh.ron", seed);
            assert_eq!(trains.len(), 4000);
            let rate = |ts: &[Vec<f64>]| {
                ts.iter().map(Vec::len).sum::<usize>() as f64 / ts.len() as f64 / (t / 1000.0)
            };
            let (exc, inh) = (rate(&trains[..3200]), rate(&trains[3200..]));
            (stats(&trains, t), exc, inh)
        })
        .collect();
    let col = |f: fn(&(Stats, f64, f64)) -> f64| runs.iter().map(f).collect::<Vec<_>>();
    let b2 = |statistic| brian2_summary("brian2_cobahh_stats.json", statistic);
    agrees(
        "COBAHH exc rate (Hz)",
        &col(|r| r.1),
        b2("rate_exc_hz"),
        0.0,
    );
    agrees(
        "COBAHH inh rate (Hz)",
        &col(|r| r.2),
        b2("rate_inh_hz"),
        0.0,
    );
    agrees("COBAHH CV of ISI", &col(|r| r.0.cv_isi), b2("cv_isi"), 0.0);
    agrees(
        "COBAHH silent fraction",
        &col(|r| r.0.silent),
        b2("silent_fraction"),
        0.0,
    );
    agrees(
        "COBAHH Fano factor (10 ms)",
        &col(|r| r.0.fano),
        b2("fano_10ms"),
        0.0,
    );
}
