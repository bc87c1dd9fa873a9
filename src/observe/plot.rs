//! `snnsim plot RUN_DIR`: PNG and SVG plots of a run directory, written to `RUN_DIR/plots/`,
//! for those of the run's files that exist:
//!
//! - `raster`: spike raster of `spikes.csv` (a training run: the hidden spikes of its last
//!   episode);
//! - `rates`: population rates over time (a training run: the hidden rate per episode);
//! - `learning_curve`: food and return per episode with a moving average (`metrics.csv`);
//! - `population_size`: hidden neurons per episode with the growth and pruning events of
//!   `edits.csv` marked;
//! - `weights`: a histogram of the weights of each projection in `weights.csv`.
//!
//! Text is drawn with an embedded subset of DejaVu Sans (assets/fonts), so plotting needs no
//! system font libraries.

use crate::error::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// Spikes drawn at most in a raster; beyond it the raster shows the run's beginning.
const MAX_RASTER_POINTS: usize = 50_000;
/// Neurons drawn at most per population in a raster (the first ones).
const MAX_RASTER_NEURONS: usize = 500;

type DrawResult = std::result::Result<(), Box<dyn std::error::Error>>;

fn init_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the embedded font parses"));
    });
}

fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().into()
}

/// A tick label: at most four decimals, no trailing zeros.
fn tick(v: &f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// A CSV file as written by snnsim (no quoting): its header and text, split on demand.
struct Csv {
    path: PathBuf,
    header: Vec<String>,
    text: String,
}

impl Csv {
    fn read(path: &Path) -> Result<Option<Csv>> {
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let header = text
            .lines()
            .next()
            .unwrap_or("")
            .split(',')
            .map(str::to_string)
            .collect();
        Ok(Some(Csv {
            path: path.to_path_buf(),
            header,
            text,
        }))
    }

    fn col(&self, name: &str) -> Result<usize> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            Error::Input(format!(
                "{}: no column `{name}` in the header",
                self.path.display()
            ))
        })
    }

    /// Column `name` of every data row, with the row's line number.
    fn fields(&self, name: &str) -> Result<Vec<(usize, Option<&str>)>> {
        let c = self.col(name)?;
        Ok(self
            .text
            .lines()
            .enumerate()
            .skip(1)
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| (i + 1, l.split(',').nth(c)))
            .collect())
    }

    fn nums(&self, name: &str) -> Result<Vec<f64>> {
        self.fields(name)?
            .into_iter()
            .map(|(line, v)| {
                v.and_then(|v| v.parse::<f64>().ok()).ok_or_else(|| {
                    Error::Input(format!(
                        "{}:{line}: column {name} is not a number",
                        self.path.display()
                    ))
                })
            })
            .collect()
    }

    fn strs(&self, name: &str) -> Result<Vec<&str>> {
        self.fields(name)?
            .into_iter()
            .map(|(line, v)| {
                v.ok_or_else(|| {
                    Error::Input(format!(
                        "{}:{line}: missing column {name}",
                        self.path.display()
                    ))
                })
            })
            .collect()
    }
}

/// What a run directory holds for plotting.
struct Run {
    training: bool,
    dt_ms: f64,
    sim_time_ms: Option<f64>,
    sizes: BTreeMap<String, usize>,
}

fn read_run(dir: &Path) -> Result<Run> {
    let path = dir.join("summary.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::Input(format!(
            "{} is not a run directory of snnsim run (cannot read {}: {e})",
            dir.display(),
            path.display()
        ))
    })?;
    let s: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::Input(format!("{}: {e}", path.display())))?;
    let training = s.get("episodes").is_some();
    let mut dt_ms = s["dt_ms"].as_f64();
    if dt_ms.is_none() {
        // A training run: the time step is in config.ron.
        let cfg = dir.join("config.ron");
        if let Ok(parsed) = crate::file::Source::read(&cfg).and_then(|s| s.parse()) {
            dt_ms = Some(parsed.dt_ms);
        }
    }
    let mut sizes = BTreeMap::new();
    if let Some(p) = s["populations"].as_object() {
        for (name, v) in p {
            if let Some(n) = v["size"].as_u64() {
                sizes.insert(name.clone(), n as usize);
            }
        }
    }
    if let Some(h) = s["final_hidden_size"].as_u64() {
        sizes.entry("hidden".into()).or_insert(h as usize);
    }
    Ok(Run {
        training,
        dt_ms: dt_ms.unwrap_or(1.0),
        sim_time_ms: s["sim_time_ms"].as_f64(),
        sizes,
    })
}

/// Renders one plot as `<name>.png` and `<name>.svg`.
macro_rules! render {
    ($dir:expr, $name:expr, $size:expr, $files:expr, |$area:ident| $body:expr) => {{
        let png = $dir.join(format!("{}.png", $name));
        let svg = $dir.join(format!("{}.svg", $name));
        let fail =
            |e: Box<dyn std::error::Error>| Error::Run(format!("cannot draw {}: {e}", $name));
        {
            let $area = BitMapBackend::new(&png, $size).into_drawing_area();
            $area.fill(&WHITE).map_err(|e| fail(e.into()))?;
            let r: DrawResult = $body;
            r.map_err(fail)?;
            $area.present().map_err(|e| fail(e.into()))?;
        }
        {
            let $area = SVGBackend::new(&svg, $size).into_drawing_area();
            $area.fill(&WHITE).map_err(|e| fail(e.into()))?;
            let r: DrawResult = $body;
            r.map_err(fail)?;
            $area.present().map_err(|e| fail(e.into()))?;
        }
        $files.push(png);
        $files.push(svg);
    }};
}

/// Draws the plots that `run_dir`'s files allow into `run_dir/plots/`; returns the files
/// written. A directory without `summary.json`, or with nothing to plot, is an input error.
pub fn plot_run(run_dir: &Path) -> Result<Vec<PathBuf>> {
    init_font();
    let run = read_run(run_dir)?;
    let spikes = Csv::read(&run_dir.join("spikes.csv"))?;
    let metrics = Csv::read(&run_dir.join("metrics.csv"))?;
    let edits = Csv::read(&run_dir.join("edits.csv"))?;
    let weights = Csv::read(&run_dir.join("weights.csv"))?;
    if spikes.is_none() && metrics.is_none() && weights.is_none() {
        return Err(Error::Input(format!(
            "nothing to plot in {}: no spikes.csv, metrics.csv or weights.csv",
            run_dir.display()
        )));
    }
    let out = run_dir.join("plots");
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let mut files = Vec::new();

    if let Some(s) = &spikes {
        let r = Raster::from_csv(s, &run)?;
        render!(out, "raster", (1000, 600), files, |area| r.draw(&area));
        if !run.training {
            let rates = PopRates::from_csv(s, &run, r.t_end)?;
            render!(out, "rates", (1000, 500), files, |area| rates.draw(&area));
        }
    }
    if let Some(m) = &metrics {
        let c = Curves::from_csv(m, edits.as_ref(), run.dt_ms)?;
        if !c.episode.is_empty() {
            render!(out, "learning_curve", (1000, 700), files, |area| c
                .draw_learning(&area));
            render!(out, "rates", (1000, 500), files, |area| c.draw_rate(&area));
            render!(out, "population_size", (1000, 500), files, |area| c
                .draw_size(&area));
        }
    }
    if let Some(w) = &weights {
        let h = Histograms::from_csv(w)?;
        if !h.0.is_empty() {
            let cols = h.0.len().min(3) as u32;
            let rows = (h.0.len() as u32).div_ceil(cols);
            render!(out, "weights", (450 * cols, 400 * rows), files, |area| h
                .draw(&area, rows as usize, cols as usize));
        }
    }
    Ok(files)
}

/// A population in a raster: name, size, the (t_ms, neuron) drawn.
type RasterPop = (String, usize, Vec<(f64, f64)>);

/// Spikes per population, in the order of their first appearance.
struct Raster {
    pops: Vec<RasterPop>,
    t_end: f64,
    truncated_at: Option<f64>,
    training: bool,
}

impl Raster {
    fn from_csv(csv: &Csv, run: &Run) -> Result<Raster> {
        let t = csv.nums("t_ms")?;
        let pop = csv.strs("population")?;
        let neuron = csv.nums("neuron")?;
        let mut pops: Vec<RasterPop> = Vec::new();
        let mut truncated_at = None;
        let mut n = 0;
        for k in 0..t.len() {
            let pos = match pops.iter().position(|p| p.0 == pop[k]) {
                Some(p) => p,
                None => {
                    let size = run.sizes.get(pop[k]).copied().unwrap_or(0);
                    pops.push((pop[k].to_string(), size, Vec::new()));
                    pops.len() - 1
                }
            };
            let p = &mut pops[pos];
            p.1 = p.1.max(neuron[k] as usize + 1);
            if (neuron[k] as usize) < MAX_RASTER_NEURONS {
                if n >= MAX_RASTER_POINTS {
                    truncated_at.get_or_insert(t[k]);
                    continue;
                }
                p.2.push((t[k], neuron[k]));
                n += 1;
            }
        }
        let t_max = t.iter().cloned().fold(0.0, f64::max);
        let full = match (run.training, run.sim_time_ms) {
            (false, Some(s)) => s,
            _ => t_max + run.dt_ms,
        };
        let t_end = truncated_at.unwrap_or(full);
        Ok(Raster {
            pops,
            t_end: t_end.max(run.dt_ms),
            truncated_at,
            training: run.training,
        })
    }

    fn shown(&self, size: usize) -> usize {
        size.clamp(1, MAX_RASTER_NEURONS)
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let total: usize = self.pops.iter().map(|p| self.shown(p.1)).sum();
        let mut title = if self.training {
            "Hidden spikes in the last training episode".to_string()
        } else {
            "Spike raster".to_string()
        };
        if self.pops.iter().any(|p| p.1 > MAX_RASTER_NEURONS) {
            title += &format!(" (first {MAX_RASTER_NEURONS} neurons of each population)");
        }
        if let Some(t) = self.truncated_at {
            title += &format!(" (first {t:.0} ms)");
        }
        let mut chart = ChartBuilder::on(area)
            .caption(title, font(22))
            .margin(12)
            .margin_right(30)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..self.t_end, 0.0..total.max(1) as f64)?;
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .disable_mesh()
            .x_desc(if self.training {
                "time in the episode (ms)"
            } else {
                "time (ms)"
            })
            .y_desc(if self.pops.len() > 1 {
                "neuron (stacked by population)"
            } else {
                "neuron"
            })
            .label_style(font(15))
            .axis_desc_style(font(17))
            .draw()?;
        let mut offset = 0.0;
        let mark = if total > 300 { 1 } else { 2 };
        for (k, (name, size, pts)) in self.pops.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            let o = offset;
            chart
                .draw_series(pts.iter().map(|&(t, i)| {
                    Rectangle::new(
                        [(t, o + i), (t + self.t_end / 800.0, o + i + 1.0)],
                        color.filled(),
                    )
                }))?
                .label(format!("{name} ({size} neurons)"))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 4), (x + 10, y + 4)], color.filled())
                });
            offset += self.shown(*size) as f64;
            if k + 1 < self.pops.len() {
                chart.draw_series(LineSeries::new(
                    [(0.0, offset), (self.t_end, offset)],
                    BLACK.mix(0.4).stroke_width(mark),
                ))?;
            }
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(font(15))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    }
}

/// Rates of each population in time bins (network runs).
struct PopRates {
    bin_ms: f64,
    series: Vec<(String, Vec<(f64, f64)>)>,
    t_end: f64,
}

impl PopRates {
    /// Rates from every spike of `spikes.csv`, over each population's whole size.
    fn from_csv(csv: &Csv, run: &Run, t_end: f64) -> Result<PopRates> {
        let t = csv.nums("t_ms")?;
        let pop = csv.strs("population")?;
        let neuron = csv.nums("neuron")?;
        // About 100 bins, a whole number of steps each.
        let steps = (t_end / run.dt_ms / 100.0).round().max(1.0);
        let bin_ms = steps * run.dt_ms;
        let nbins = (t_end / bin_ms).ceil().max(1.0) as usize;
        let mut pops: Vec<(String, usize, Vec<f64>)> = Vec::new();
        for k in 0..t.len() {
            let pos = match pops.iter().position(|p| p.0 == pop[k]) {
                Some(p) => p,
                None => {
                    let size = run.sizes.get(pop[k]).copied().unwrap_or(0);
                    pops.push((pop[k].to_string(), size, vec![0.0; nbins]));
                    pops.len() - 1
                }
            };
            let p = &mut pops[pos];
            p.1 = p.1.max(neuron[k] as usize + 1);
            if t[k] < t_end {
                p.2[((t[k] / bin_ms) as usize).min(nbins - 1)] += 1.0;
            }
        }
        let series = pops
            .into_iter()
            .map(|(name, size, counts)| {
                let line = counts
                    .iter()
                    .enumerate()
                    .map(|(b, c)| {
                        let width = bin_ms.min(t_end - b as f64 * bin_ms);
                        (
                            (b as f64 + 0.5) * bin_ms,
                            c / size as f64 / (width / 1000.0),
                        )
                    })
                    .collect();
                (name, line)
            })
            .collect();
        Ok(PopRates {
            bin_ms,
            series,
            t_end,
        })
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let ymax = self
            .series
            .iter()
            .flat_map(|s| s.1.iter().map(|p| p.1))
            .fold(0.0, f64::max)
            .max(1.0)
            * 1.1;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("Population rates ({} ms bins)", self.bin_ms),
                font(22),
            )
            .margin(12)
            .margin_right(30)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..self.t_end, 0.0..ymax)?;
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc("time (ms)")
            .y_desc("rate (Hz)")
            .label_style(font(15))
            .axis_desc_style(font(17))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (k, (name, line)) in self.series.iter().enumerate() {
            let color = COLORS[k % COLORS.len()];
            chart
                .draw_series(LineSeries::new(line.iter().copied(), color.stroke_width(2)))?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(font(15))
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        Ok(())
    }
}

/// Trailing moving average over `w` values (fewer at the start).
pub fn moving_average(v: &[f64], w: usize) -> Vec<f64> {
    let w = w.max(1);
    let mut out = Vec::with_capacity(v.len());
    let mut sum = 0.0;
    for i in 0..v.len() {
        sum += v[i];
        if i >= w {
            sum -= v[i - w];
        }
        out.push(sum / (i + 1).min(w) as f64);
    }
    out
}

/// Per-episode curves of a training run.
struct Curves {
    episode: Vec<f64>,
    food: Vec<f64>,
    ret: Vec<f64>,
    size: Vec<f64>,
    rate_hz: Vec<f64>,
    window: usize,
    /// (episode, size after, grow?)
    edits: Vec<(f64, f64, bool)>,
}

impl Curves {
    fn from_csv(m: &Csv, edits: Option<&Csv>, dt_ms: f64) -> Result<Curves> {
        let episode = m.nums("episode")?;
        let n = episode.len();
        let mut e = Vec::new();
        if let Some(csv) = edits {
            let ep = csv.nums("episode")?;
            let kind = csv.strs("kind")?;
            let after = csv.nums("size_after")?;
            for k in 0..ep.len() {
                e.push((ep[k], after[k], kind[k] == "grow"));
            }
        }
        Ok(Curves {
            food: m.nums("food")?,
            ret: m.nums("return")?,
            size: m.nums("hidden_size")?,
            rate_hz: m
                .nums("avg_firing_rate")?
                .into_iter()
                .map(|r| r * 1000.0 / dt_ms)
                .collect(),
            window: (n / 10).clamp(1, 100),
            episode,
            edits: e,
        })
    }

    fn x_range(&self) -> std::ops::Range<f64> {
        0.0..(self.episode.last().copied().unwrap_or(0.0) + 1.0)
    }

    fn panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        title: &str,
        y_desc: &str,
        v: &[f64],
        color: RGBColor,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let lo = v.iter().cloned().fold(f64::INFINITY, f64::min).min(0.0);
        let hi = v
            .iter()
            .cloned()
            .fold(f64::NEG_INFINITY, f64::max)
            .max(lo + 1e-9);
        let pad = (hi - lo) * 0.05;
        let mut chart = ChartBuilder::on(area)
            .caption(title, font(20))
            .margin(10)
            .margin_right(30)
            .x_label_area_size(40)
            .y_label_area_size(65)
            .build_cartesian_2d(self.x_range(), (lo - pad)..(hi + pad))?;
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc("episode")
            .y_desc(y_desc)
            .label_style(font(14))
            .axis_desc_style(font(16))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        chart
            .draw_series(LineSeries::new(
                self.episode.iter().copied().zip(v.iter().copied()),
                color.mix(0.25),
            ))?
            .label("per episode")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.mix(0.25)));
        let ma = moving_average(v, self.window);
        chart
            .draw_series(LineSeries::new(
                self.episode.iter().copied().zip(ma),
                BLACK.stroke_width(2),
            ))?
            .label(format!("moving average ({} episodes)", self.window))
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(font(14))
            .draw()?;
        Ok(())
    }

    fn draw_learning<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let parts = area.split_evenly((2, 1));
        self.panel(
            &parts[0],
            "Learning curve: food eaten",
            "food per episode",
            &self.food,
            COLORS[2],
        )?;
        self.panel(
            &parts[1],
            "Learning curve: return",
            "return per episode",
            &self.ret,
            COLORS[0],
        )
    }

    fn draw_rate<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        self.panel(
            area,
            "Hidden population rate",
            "mean rate (Hz)",
            &self.rate_hz,
            COLORS[3],
        )
    }

    fn draw_size<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let hi = self
            .size
            .iter()
            .chain(self.edits.iter().map(|e| &e.1))
            .cloned()
            .fold(1.0, f64::max);
        let grows = self.edits.iter().filter(|e| e.2).count();
        let prunes = self.edits.len() - grows;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!("Hidden population size ({grows} growths, {prunes} prunings)"),
                font(22),
            )
            .margin(12)
            .margin_right(30)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(self.x_range(), 0.0..hi * 1.15)?;
        chart
            .configure_mesh()
            .x_label_formatter(&tick)
            .y_label_formatter(&tick)
            .x_desc("episode")
            .y_desc("hidden neurons")
            .label_style(font(15))
            .axis_desc_style(font(17))
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        chart
            .draw_series(LineSeries::new(
                self.episode.iter().copied().zip(self.size.iter().copied()),
                BLACK.stroke_width(2),
            ))?
            .label("hidden neurons")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], BLACK.stroke_width(2)));
        let (g, p) = (COLORS[2], COLORS[1]);
        chart
            .draw_series(
                self.edits
                    .iter()
                    .filter(|e| e.2)
                    .map(|e| TriangleMarker::new((e.0, e.1), 7, g.filled())),
            )?
            .label("growth")
            .legend(move |(x, y)| TriangleMarker::new((x + 8, y), 7, g.filled()));
        chart
            .draw_series(
                self.edits
                    .iter()
                    .filter(|e| !e.2)
                    .map(|e| Cross::new((e.0, e.1), 6, p.stroke_width(2))),
            )?
            .label("pruning")
            .legend(move |(x, y)| Cross::new((x + 8, y), 6, p.stroke_width(2)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(font(15))
            .draw()?;
        Ok(())
    }
}

/// Weights of each projection, in file order.
struct Histograms(Vec<(String, Vec<f64>)>);

impl Histograms {
    fn from_csv(csv: &Csv) -> Result<Histograms> {
        let name = csv.strs("projection")?;
        let w = csv.nums("weight")?;
        let mut out: Vec<(String, Vec<f64>)> = Vec::new();
        for (n, w) in name.into_iter().zip(w) {
            match out.iter_mut().find(|p| p.0 == n) {
                Some(p) => p.1.push(w),
                None => out.push((n.to_string(), vec![w])),
            }
        }
        Ok(Histograms(out))
    }

    fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        rows: usize,
        cols: usize,
    ) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        let parts = area.split_evenly((rows, cols));
        for (k, (name, w)) in self.0.iter().enumerate() {
            let mut lo = w.iter().cloned().fold(f64::INFINITY, f64::min);
            let mut hi = w.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            if hi <= lo {
                // One value: a bar in the middle of a range around it.
                let d = lo.abs().max(1e-3) * 0.1;
                (lo, hi) = (lo - d, hi + d);
            }
            let bins = 40;
            let width = (hi - lo) / bins as f64;
            let mut counts = vec![0u64; bins];
            for &x in w {
                let b = (((x - lo) / width) as usize).min(bins - 1);
                counts[b] += 1;
            }
            let top = counts.iter().copied().max().unwrap_or(1) as f64 * 1.1;
            let mut chart = ChartBuilder::on(&parts[k])
                .caption(format!("{name} ({} synapses)", w.len()), font(18))
                .margin(10)
                .margin_right(30)
                .x_label_area_size(40)
                .y_label_area_size(65)
                .build_cartesian_2d(lo..hi, 0.0..top)?;
            chart
                .configure_mesh()
                .x_label_formatter(&tick)
                .y_label_formatter(&tick)
                .x_desc("weight (units of the graph file)")
                .y_desc("synapses")
                .x_labels(5)
                .label_style(font(13))
                .axis_desc_style(font(15))
                .light_line_style(WHITE.mix(0.0))
                .draw()?;
            let color = COLORS[k % COLORS.len()];
            chart.draw_series(counts.iter().enumerate().map(|(b, &c)| {
                let x0 = lo + b as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], color.filled())
            }))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn moving_average_is_trailing() {
        let m = super::moving_average(&[1.0, 3.0, 5.0, 7.0], 2);
        assert_eq!(m, vec![1.0, 2.0, 4.0, 6.0]);
    }
}
