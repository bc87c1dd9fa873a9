//! The Prometheus endpoint of a run: gauges and counters in a registry labelled with the run,
//! served as `/metrics` (Prometheus text format 0.0.4) by a small HTTP server on a background
//! thread. The run only stores numbers into atomics, once per batch of episodes or per chunk
//! of steps; encoding happens on the server thread when Prometheus asks.

use crate::error::{Error, Result};
use prometheus::{Encoder, Gauge, GaugeVec, IntCounter, IntGauge, Opts, Registry, TextEncoder};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The default port of training runs (docs/monitoring.md).
pub const DEFAULT_PORT: u16 = 8000;

/// The metrics of one run.
pub struct Metrics {
    registry: Registry,
    /// `snn_neuron_count`: hidden neurons now (a network run: all neurons).
    pub neuron_count: IntGauge,
    /// `snn_avg_firing_rate`: mean hidden rate, spikes per neuron per step, last batch.
    pub avg_firing_rate: Gauge,
    /// `snn_sparsity`: fraction of hidden neurons below the pruning threshold, last batch.
    pub sparsity: Gauge,
    /// `snn_episode_reward`: return of the last episode.
    pub episode_reward: Gauge,
    /// `snn_growth_events_total`.
    pub growth_events: IntCounter,
    /// `snn_pruning_events_total`.
    pub pruning_events: IntCounter,
    /// `snn_energy_estimate`: hidden spikes × hidden neurons, last batch.
    pub energy_estimate: Gauge,
    /// `snnsim_episodes_total`.
    pub episodes: IntCounter,
    /// `snnsim_episodes_per_second` (since the run started).
    pub episodes_per_second: Gauge,
    /// `snnsim_food_eaten`: mean food per episode, last batch.
    pub food: Gauge,
    /// `snnsim_steps_total`: simulation steps so far.
    pub steps: IntCounter,
    /// `snnsim_steps_per_second` (since the run started).
    pub steps_per_second: Gauge,
    /// `snnsim_speed_factor`: simulated time / wall time (since the run started).
    pub speed_factor: Gauge,
    /// `snnsim_synaptic_events_total`.
    pub synaptic_events: IntCounter,
    /// `snnsim_synaptic_events_per_second` (since the run started).
    pub synaptic_events_per_second: Gauge,
    /// `snnsim_population_rate_hz{population}`: mean rate of each population over the last
    /// update window.
    pub population_rate_hz: GaugeVec,
    /// `snnsim_progress_ratio`: fraction of the run done.
    pub progress: Gauge,
}

fn reg<M: prometheus::core::Collector + Clone + 'static>(r: &Registry, m: M) -> M {
    r.register(Box::new(m.clone()))
        .expect("metric names are unique");
    m
}

impl Metrics {
    /// A registry whose every sample carries the label `run="<run>"`.
    pub fn new(run: &str) -> Self {
        let labels = HashMap::from([("run".to_string(), run.to_string())]);
        let r = Registry::new_custom(None, Some(labels)).expect("valid label");
        let g = |name: &str, help: &str| reg(&r, Gauge::new(name, help).expect("valid name"));
        let c = |name: &str, help: &str| reg(&r, IntCounter::new(name, help).expect("valid name"));
        Metrics {
            neuron_count: reg(
                &r,
                IntGauge::new("snn_neuron_count", "Hidden neurons now").expect("valid name"),
            ),
            avg_firing_rate: g(
                "snn_avg_firing_rate",
                "Mean hidden rate, spikes per neuron per step, last episode batch",
            ),
            sparsity: g(
                "snn_sparsity",
                "Fraction of hidden neurons with rate below prune_threshold, last episode batch",
            ),
            episode_reward: g("snn_episode_reward", "Return of the last episode"),
            growth_events: c("snn_growth_events_total", "Growth edits so far"),
            pruning_events: c("snn_pruning_events_total", "Pruning edits so far"),
            energy_estimate: g(
                "snn_energy_estimate",
                "Hidden spikes times hidden neurons, last episode batch",
            ),
            episodes: c("snnsim_episodes_total", "Training episodes done"),
            episodes_per_second: g(
                "snnsim_episodes_per_second",
                "Training episodes per second of wall time since the run started",
            ),
            food: g(
                "snnsim_food_eaten",
                "Mean food eaten per episode, last episode batch",
            ),
            steps: c("snnsim_steps_total", "Simulation steps done"),
            steps_per_second: g(
                "snnsim_steps_per_second",
                "Simulation steps per second of wall time since the run started",
            ),
            speed_factor: g(
                "snnsim_speed_factor",
                "Simulated time over wall time since the run started",
            ),
            synaptic_events: c(
                "snnsim_synaptic_events_total",
                "Synaptic events (spike x synapse) delivered",
            ),
            synaptic_events_per_second: g(
                "snnsim_synaptic_events_per_second",
                "Synaptic events per second of wall time since the run started",
            ),
            population_rate_hz: reg(
                &r,
                GaugeVec::new(
                    Opts::new(
                        "snnsim_population_rate_hz",
                        "Mean firing rate of a population over the last update (Hz)",
                    ),
                    &["population"],
                )
                .expect("valid name"),
            ),
            progress: g("snnsim_progress_ratio", "Fraction of the run done"),
            registry: r,
        }
    }

    /// Sets a counter to `total` (counters only go up; a smaller value is ignored).
    pub fn set_counter(c: &IntCounter, total: u64) {
        let now = c.get();
        if total > now {
            c.inc_by(total - now);
        }
    }

    /// The registry in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding of gauges and counters");
        String::from_utf8(buf).expect("the text format is UTF-8")
    }
}

/// A `/metrics` endpoint serving one run's metrics until dropped.
pub struct Exporter {
    metrics: Arc<Metrics>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl Exporter {
    /// Binds `addr:port` (port 0: a free port) and serves `/metrics` on a background thread.
    /// A port in use, or an address that cannot be bound, is an input error naming both.
    pub fn start(metrics: Arc<Metrics>, addr: IpAddr, port: u16) -> Result<Self> {
        let want = SocketAddr::new(addr, port);
        let server = tiny_http::Server::http(want).map_err(|e| {
            Error::Input(format!(
                "cannot serve metrics on {want}: {e}; choose another port with --metrics-port \
                 or turn the endpoint off with --no-metrics"
            ))
        })?;
        let addr = server
            .server_addr()
            .to_ip()
            .expect("a TCP listener has an IP address");
        let server = Arc::new(server);
        let (s, m) = (server.clone(), metrics.clone());
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve(&s, &m))
            .map_err(|e| Error::Run(format!("cannot start the metrics thread: {e}")))?;
        Ok(Exporter {
            metrics,
            server,
            thread: Some(thread),
            addr,
        })
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The metrics served.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(server: &tiny_http::Server, metrics: &Metrics) {
    let text_type = tiny_http::Header::from_bytes(
        &b"Content-Type"[..],
        &b"text/plain; version=0.0.4; charset=utf-8"[..],
    )
    .expect("valid header");
    while let Ok(req) = server.recv() {
        let path = req.url().split('?').next().unwrap_or("");
        let resp = match path {
            "/metrics" => {
                tiny_http::Response::from_string(metrics.encode()).with_header(text_type.clone())
            }
            "/" => tiny_http::Response::from_string("snnsim: metrics at /metrics\n"),
            _ => tiny_http::Response::from_string("not found\n").with_status_code(404),
        };
        // A client that hung up is its own problem.
        let _ = req.respond(resp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format_has_the_seed_names_and_the_run_label() {
        let m = Metrics::new("r1");
        m.neuron_count.set(48);
        Metrics::set_counter(&m.growth_events, 3);
        Metrics::set_counter(&m.growth_events, 2);
        m.population_rate_hz
            .with_label_values(&["hidden"])
            .set(12.5);
        let t = m.encode();
        assert!(t.contains("snn_neuron_count{run=\"r1\"} 48"), "{t}");
        assert!(t.contains("snn_growth_events_total{run=\"r1\"} 3"), "{t}");
        assert!(t.contains("# TYPE snn_pruning_events_total counter"), "{t}");
        assert!(
            t.contains("snnsim_population_rate_hz{population=\"hidden\",run=\"r1\"} 12.5"),
            "{t}"
        );
    }

    /// Every metric the Grafana dashboard (deploy/grafana) queries is one the endpoint serves.
    #[test]
    fn the_dashboard_queries_served_metrics() {
        let dash: serde_json::Value =
            serde_json::from_str(include_str!("../../deploy/grafana/snnsim-dashboard.json"))
                .expect("dashboard JSON parses");
        let m = Metrics::new("r");
        m.population_rate_hz.with_label_values(&["hidden"]).set(1.0);
        let served = m.encode();
        let panels = dash["panels"].as_array().expect("panels");
        assert!(panels.len() >= 6);
        let mut names = Vec::new();
        for p in panels {
            for t in p["targets"].as_array().expect("targets") {
                let expr = t["expr"].as_str().expect("expr");
                let name: String = expr
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    served.contains(&format!("\n{name}{{")),
                    "{name} is not served"
                );
                names.push(name);
            }
        }
        for seed in [
            "snn_neuron_count",
            "snn_avg_firing_rate",
            "snn_sparsity",
            "snn_episode_reward",
            "snn_growth_events_total",
            "snn_pruning_events_total",
            "snn_energy_estimate",
        ] {
            assert!(names.iter().any(|n| n == seed), "no panel shows {seed}");
        }
    }

    #[test]
    fn a_port_in_use_is_an_input_error() {
        let m = Arc::new(Metrics::new("r"));
        let a = Exporter::start(m.clone(), "127.0.0.1".parse().unwrap(), 0).unwrap();
        let port = a.addr().port();
        let e = Exporter::start(m, "127.0.0.1".parse().unwrap(), port)
            .err()
            .expect("second bind fails");
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains(&port.to_string()), "{e}");
    }
}
