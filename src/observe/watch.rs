//! The observer of `snnsim run`: the Prometheus endpoint and the progress display (a bar on a
//! terminal, plain lines otherwise, JSON lines with `--json`, nothing with `--quiet`).

use super::metrics::{Exporter, Metrics, DEFAULT_PORT};
use super::{NetProgress, Observer, RunInfo, TrainProgress};
use crate::error::Result;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::net::IpAddr;
use std::sync::Arc;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Display {
    /// A progress bar with ETA and speed (standard output is a terminal).
    Bar,
    /// Plain lines (standard output is not a terminal).
    Plain,
    /// One JSON object per line on standard output.
    Json,
    /// Nothing.
    Quiet,
}

impl Display {
    /// `Quiet` with `--quiet` (with `--json` too: the summary is then the only line), `Json`
    /// with `--json`, else `Bar` on a terminal and `Plain` elsewhere.
    pub fn choose(json: bool, quiet: bool) -> Self {
        use std::io::IsTerminal;
        if quiet {
            Display::Quiet
        } else if json {
            Display::Json
        } else if std::io::stdout().is_terminal() {
            Display::Bar
        } else {
            Display::Plain
        }
    }
}

/// Settings of the Prometheus endpoint.
#[derive(Debug, Clone)]
pub struct MetricsOptions {
    /// `--no-metrics`.
    pub off: bool,
    /// `--metrics-addr` (default 127.0.0.1).
    pub addr: IpAddr,
    /// `--metrics-port`; without it a training run serves on 8000 and a network run serves
    /// nothing.
    pub port: Option<u16>,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions {
            off: false,
            addr: IpAddr::from([127, 0, 0, 1]),
            port: None,
        }
    }
}

/// Prints the text lines of a run (the training progress lines) where the display wants them.
#[derive(Clone)]
pub struct Printer {
    display: Display,
    bar: Option<ProgressBar>,
}

impl Printer {
    /// Prints one line: above the bar, on standard output, or not at all (JSON and quiet).
    pub fn line(&self, s: &str) {
        match (self.display, &self.bar) {
            (Display::Bar, Some(b)) => b.println(s),
            (Display::Bar, None) | (Display::Plain, _) => crate::outln!("{s}"),
            (Display::Json, _) | (Display::Quiet, _) => {}
        }
    }
}

/// The observer of `snnsim run`.
pub struct Watch {
    display: Display,
    metrics_opts: MetricsOptions,
    exporter: Option<Exporter>,
    bar: Option<ProgressBar>,
    info: Option<RunInfo>,
    /// Network runs: the last update's step, spikes per population.
    last_step: u64,
    last_spikes: Vec<u64>,
    /// Training runs: episodes already reported, steps and synaptic events so far.
    seen: usize,
    steps: u64,
    events: u64,
    /// Next step or episode at which a plain or JSON line is due.
    next_line: u64,
    /// Network runs: step and spikes per population at the last plain or JSON line.
    line_step: u64,
    line_spikes: Vec<u64>,
}

impl Watch {
    /// An observer with this display and endpoint. The bar is created now so that
    /// [`Watch::printer`] can print above it.
    pub fn new(display: Display, metrics_opts: MetricsOptions) -> Self {
        let bar = (display == Display::Bar).then(|| {
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stdout());
            b.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
            b
        });
        Watch {
            display,
            metrics_opts,
            exporter: None,
            bar,
            info: None,
            last_step: 0,
            last_spikes: Vec::new(),
            seen: 0,
            steps: 0,
            events: 0,
            next_line: 0,
            line_step: 0,
            line_spikes: Vec::new(),
        }
    }

    /// Prints lines where this display wants them.
    pub fn printer(&self) -> Printer {
        Printer {
            display: self.display,
            bar: self.bar.clone(),
        }
    }

    /// The endpoint's address, once the run started with one.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.exporter.as_ref().map(|e| e.addr())
    }

    fn metrics(&self) -> Option<&Metrics> {
        self.exporter.as_ref().map(|e| e.metrics())
    }
}

fn bar_style(unit: &str) -> ProgressStyle {
    ProgressStyle::with_template(&format!(
        "[{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} (ETA {{eta}}) {{msg}}"
    ))
    .expect("valid template")
}

impl Observer for Watch {
    fn start(&mut self, info: &RunInfo) -> Result<()> {
        let m = &self.metrics_opts;
        let port = match (m.off, m.port) {
            (true, _) => None,
            (false, Some(p)) => Some(p),
            (false, None) => info.training.then_some(DEFAULT_PORT),
        };
        if let Some(port) = port {
            let exp = Exporter::start(Arc::new(Metrics::new(&info.run)), m.addr, port)?;
            exp.metrics().progress.set(0.0);
            exp.metrics().neuron_count.set(info.neurons as i64);
            if self.display != Display::Quiet && self.display != Display::Json {
                self.printer()
                    .line(&format!("metrics at http://{}/metrics", exp.addr()));
            } else if self.display == Display::Json {
                eprintln!("metrics at http://{}/metrics", exp.addr());
            }
            self.exporter = Some(exp);
        }
        if let Some(b) = &self.bar {
            b.set_length(info.total);
            b.set_position(0);
            b.set_style(bar_style(if info.training { "episodes" } else { "steps" }));
        }
        self.next_line = if info.training {
            info.progress_every
        } else {
            info.total.div_ceil(10)
        };
        self.info = Some(info.clone());
        Ok(())
    }

    fn network(&mut self, p: &NetProgress) {
        let Some(info) = &self.info else { return };
        let dt = info.dt_ms;
        let sim_s = p.step as f64 * dt / 1000.0;
        let wall = p.wall_s.max(1e-9);
        let window_s = (p.step - self.last_step) as f64 * dt / 1000.0;
        let window_steps = (p.step - self.last_step) as f64;
        if self.last_spikes.len() != p.populations.len() {
            self.last_spikes = vec![0; p.populations.len()];
        }
        let rates: Vec<(String, f64)> = p
            .populations
            .iter()
            .zip(&self.last_spikes)
            .map(|(c, &before)| {
                let r = if window_s > 0.0 && c.size > 0 {
                    (c.spikes - before) as f64 / c.size as f64 / window_s
                } else {
                    0.0
                };
                (c.name.clone(), r)
            })
            .collect();
        if let Some(m) = self.metrics() {
            let neurons: usize = p.populations.iter().map(|c| c.size).sum();
            let window_spikes: u64 = p
                .populations
                .iter()
                .zip(&self.last_spikes)
                .map(|(c, &b)| c.spikes - b)
                .sum();
            m.neuron_count.set(neurons as i64);
            if window_steps > 0.0 && neurons > 0 {
                m.avg_firing_rate
                    .set(window_spikes as f64 / neurons as f64 / window_steps);
            }
            Metrics::set_counter(&m.steps, p.step);
            Metrics::set_counter(&m.synaptic_events, p.synaptic_events);
            m.steps_per_second.set(p.step as f64 / wall);
            m.speed_factor.set(sim_s / wall);
            m.synaptic_events_per_second
                .set(p.synaptic_events as f64 / wall);
            for (name, r) in &rates {
                m.population_rate_hz.with_label_values(&[name]).set(*r);
            }
            m.progress.set(p.step as f64 / info.total.max(1) as f64);
        }
        self.last_step = p.step;
        for (b, c) in self.last_spikes.iter_mut().zip(&p.populations) {
            *b = c.spikes;
        }
        let speed = sim_s / wall;
        match self.display {
            Display::Bar => {
                if let Some(b) = &self.bar {
                    b.set_position(p.step);
                    b.set_message(format!("speed factor {speed:.3}"));
                }
            }
            Display::Plain | Display::Json if p.step >= self.next_line || p.step >= info.total => {
                let step10 = info.total.div_ceil(10).max(1);
                while self.next_line <= p.step {
                    self.next_line += step10;
                }
                // Rates over the steps since the last line.
                let span_s = (p.step - self.line_step) as f64 * dt / 1000.0;
                self.line_spikes.resize(p.populations.len(), 0);
                let rates: Vec<(String, f64)> = p
                    .populations
                    .iter()
                    .zip(&self.line_spikes)
                    .map(|(c, &b)| {
                        let r = if span_s > 0.0 && c.size > 0 {
                            (c.spikes - b) as f64 / c.size as f64 / span_s
                        } else {
                            0.0
                        };
                        (c.name.clone(), r)
                    })
                    .collect();
                self.line_step = p.step;
                self.line_spikes = p.populations.iter().map(|c| c.spikes).collect();
                if self.display == Display::Plain {
                    let r: Vec<String> = rates
                        .iter()
                        .map(|(n, r)| format!("{n} {r:.2} Hz"))
                        .collect();
                    crate::outln!(
                        "step {:>9}/{}  {:.1} ms simulated  speed factor {:.3}  {}",
                        p.step,
                        info.total,
                        p.step as f64 * dt,
                        speed,
                        r.join("  ")
                    );
                } else {
                    let r: serde_json::Map<String, serde_json::Value> =
                        rates.into_iter().map(|(n, r)| (n, json!(r))).collect();
                    crate::outln!(
                        "{}",
                        json!({
                            "event": "progress",
                            "step": p.step,
                            "steps": info.total,
                            "sim_time_ms": p.step as f64 * dt,
                            "wall_s": p.wall_s,
                            "speed_factor": speed,
                            "synaptic_events": p.synaptic_events,
                            "rates_hz": r,
                        })
                    );
                }
            }
            _ => {}
        }
    }

    fn training(&mut self, p: &TrainProgress<'_>) {
        let Some(info) = &self.info else { return };
        let t = p.trainer;
        let window = &t.metrics[self.seen.min(t.metrics.len())..];
        self.seen = t.metrics.len();
        let Some(last) = window.last() else { return };
        let n = window.len() as f64;
        let mean = |f: &dyn Fn(&crate::agent::train::EpisodeMetrics) -> f64| {
            window.iter().map(f).sum::<f64>() / n
        };
        let rate = mean(&|m| m.avg_firing_rate);
        let decision_steps = t.spec().decision_steps as u64;
        self.steps += window.iter().map(|m| m.length as u64).sum::<u64>() * decision_steps;
        self.events += window.iter().map(|m| m.synaptic_events).sum::<u64>();
        let wall = p.wall_s.max(1e-9);
        let done = t.episodes_done;
        if let Some(m) = self.metrics() {
            m.neuron_count.set(t.hidden_size() as i64);
            m.avg_firing_rate.set(rate);
            m.sparsity.set(mean(&|m| m.sparsity));
            m.episode_reward.set(last.ret);
            m.energy_estimate
                .set(window.iter().map(|m| m.energy).sum::<f64>());
            m.food.set(mean(&|m| m.food as f64));
            Metrics::set_counter(&m.growth_events, t.growth_events() as u64);
            Metrics::set_counter(&m.pruning_events, t.pruning_events() as u64);
            Metrics::set_counter(&m.episodes, done);
            m.episodes_per_second.set(done as f64 / wall);
            Metrics::set_counter(&m.steps, self.steps);
            m.steps_per_second.set(self.steps as f64 / wall);
            m.speed_factor
                .set(self.steps as f64 * info.dt_ms / 1000.0 / wall);
            Metrics::set_counter(&m.synaptic_events, self.events);
            m.synaptic_events_per_second.set(self.events as f64 / wall);
            m.population_rate_hz
                .with_label_values(&["hidden"])
                .set(rate * 1000.0 / info.dt_ms);
            m.progress.set(done as f64 / info.total.max(1) as f64);
        }
        match self.display {
            Display::Bar => {
                if let Some(b) = &self.bar {
                    b.set_position(done);
                    b.set_message(format!(
                        "{:.0} episodes/s  food {:.2}  hidden {}",
                        done as f64 / wall,
                        mean(&|m| m.food as f64),
                        t.hidden_size()
                    ));
                }
            }
            Display::Json if info.progress_every > 0 && done >= self.next_line => {
                while self.next_line <= done {
                    self.next_line += info.progress_every;
                }
                let k = (info.progress_every as usize).min(t.metrics.len());
                let recent = &t.metrics[t.metrics.len() - k..];
                let rn = recent.len().max(1) as f64;
                crate::outln!(
                    "{}",
                    json!({
                        "event": "progress",
                        "episode": done,
                        "episodes": info.total,
                        "food": recent.iter().map(|m| m.food as f64).sum::<f64>() / rn,
                        "return": recent.iter().map(|m| m.ret).sum::<f64>() / rn,
                        "hidden_size": t.hidden_size(),
                        "avg_firing_rate":
                            recent.iter().map(|m| m.avg_firing_rate).sum::<f64>() / rn,
                        "sparsity": recent.iter().map(|m| m.sparsity).sum::<f64>() / rn,
                        "growth_events": t.growth_events(),
                        "pruning_events": t.pruning_events(),
                        "episodes_per_s": done as f64 / wall,
                        "wall_s": p.wall_s,
                    })
                );
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
