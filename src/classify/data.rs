//! Labelled datasets of the classification task. scikit-learn's digits (data/digits/: the UCI
//! optical digits test set as scikit-learn ships it, BSD-3) is built into the binary — 57 kB
//! of gzipped CSV — so that `graphs/digits.ron` runs from any directory and a test's copy of
//! it needs no data path; `Digits(path: ...)` reads another file of the same layout, gzipped
//! or not (told by the gzip magic bytes), through the same parser.
//!
//! The Yin-Yang dataset (Kriener, Göltz & Petrovici 2022) is not stored but generated, as its
//! authors publish it: by a formula and rejection sampling, here from the project's keyed
//! streams so that a file's seed fixes it. Its training and test sets are drawn from streams
//! of their own, as the published sets come from separate seeds, so the dataset carries its
//! split (`Dataset::split`) instead of leaving it to `test_fraction`.

use std::io::Read;
use std::path::Path;

/// scikit-learn's `digits.csv.gz` (data/digits/README.md).
pub const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../data/digits/digits.csv.gz");

/// Pixels per digit image (8 × 8).
pub const DIGITS_FEATURES: usize = 64;
/// Digit classes.
pub const DIGITS_CLASSES: usize = 10;
/// The largest pixel value (a count of on pixels in a 4 × 4 block).
const DIGITS_MAX: f64 = 16.0;

/// Samples with their features scaled to [0, 1] and their labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Features per sample.
    pub features: usize,
    /// Classes (labels are `0..classes`).
    pub classes: usize,
    /// Samples × features, row-major, each in [0, 1].
    pub x: Vec<f64>,
    /// The label of each sample.
    pub y: Vec<usize>,
    /// When the dataset fixes its own split: the first this many samples train, the rest
    /// test (`None`: the task splits by `test_fraction`).
    pub split: Option<usize>,
    /// The samples of an event dataset, as spike trains (`x` is then empty); empty otherwise.
    pub events: Vec<Vec<super::events::Event>>,
}

impl Dataset {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// The features of sample `k`.
    pub fn sample(&self, k: usize) -> &[f64] {
        &self.x[k * self.features..(k + 1) * self.features]
    }
}

/// The digits: the built-in copy, or the file at `path`. Errors name the file and line.
pub fn digits(path: Option<&Path>) -> Result<Dataset, String> {
    match path {
        None => parse_digits(DIGITS_CSV_GZ, "the built-in digits"),
        Some(p) => {
            let bytes =
                std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            parse_digits(&bytes, &p.display().to_string())
        }
    }
}

/// Parses digits in scikit-learn's layout: one sample per line, 64 comma-separated pixel
/// values (integers 0–16) and the label (0–9) last; gzipped when the bytes start with the
/// gzip magic. `label` names the source in errors.
pub fn parse_digits(bytes: &[u8], label: &str) -> Result<Dataset, String> {
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut s = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut s)
            .map_err(|e| format!("{label}: not a readable gzip file of text: {e}"))?;
        s
    } else {
        String::from_utf8(bytes.to_vec()).map_err(|_| format!("{label}: not UTF-8 text"))?
    };
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let at = |msg: String| format!("{label}: line {}: {msg}", k + 1);
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != DIGITS_FEATURES + 1 {
            return Err(at(format!(
                "{} values, expected {} pixels and a label",
                fields.len(),
                DIGITS_FEATURES
            )));
        }
        for (j, f) in fields[..DIGITS_FEATURES].iter().enumerate() {
            let v: f64 = f
                .parse()
                .map_err(|_| at(format!("pixel {j} is `{f}`, not a number")))?;
            if !(0.0..=DIGITS_MAX).contains(&v) {
                return Err(at(format!("pixel {j} is {v}, outside 0..16")));
            }
            x.push(v / DIGITS_MAX);
        }
        let l = fields[DIGITS_FEATURES];
        let v: f64 = l
            .parse()
            .map_err(|_| at(format!("the label is `{l}`, not a number")))?;
        if v.fract() != 0.0 || !(0.0..DIGITS_CLASSES as f64).contains(&v) {
            return Err(at(format!("the label is {v}, not a digit 0..9")));
        }
        y.push(v as usize);
    }
    if y.is_empty() {
        return Err(format!("{label}: no samples"));
    }
    Ok(Dataset {
        features: DIGITS_FEATURES,
        classes: DIGITS_CLASSES,
        x,
        y,
        split: None,
        events: Vec::new(),
    })
}

/// Features of a Yin-Yang sample: (x, y, 1 − x, 1 − y).
pub const YINYANG_FEATURES: usize = 4;
/// Yin-Yang classes: 0 and 1 the two halves of the figure, 2 the two dots (the published
/// generator's numbering).
pub const YINYANG_CLASSES: usize = 3;

/// The class of the point (x, y) of a yin-yang figure of radius `r_big` centred on
/// (r_big, r_big), with dots of radius `r_small`, by the published formula (Kriener et al.
/// 2022, after Appendix A of Lee et al. 2005): class 1 is the dot on the right, the disc of
/// radius r_big/2 round the left dot less that dot, and the upper half outside the disc of
/// radius r_big/2 round the right dot; the dots (strictly inside r_small) are class 2, and
/// the rest class 0. The point is assumed within the figure.
pub fn yinyang_class(x: f64, y: f64, r_small: f64, r_big: f64) -> usize {
    let d_right = ((x - 1.5 * r_big).powi(2) + (y - r_big).powi(2)).sqrt();
    let d_left = ((x - 0.5 * r_big).powi(2) + (y - r_big).powi(2)).sqrt();
    if d_right < r_small || d_left < r_small {
        return 2;
    }
    let upper_half = d_right <= r_small
        || (d_left > r_small && d_left <= 0.5 * r_big)
        || (y > r_big && d_right > 0.5 * r_big);
    usize::from(upper_half)
}

/// The Yin-Yang dataset: `train` then `test` samples, each drawn as published — a goal class
/// uniform over the three, then points uniform over the square [0, 2·r_big)² until one lies
/// within the figure and has that class — the training samples from the stream
/// (seed, `classify.yinyang`, `train`), the test samples from (seed, …, `test`).
pub fn yinyang(seed: u64, train: usize, test: usize, r_small: f64, r_big: f64) -> Dataset {
    use rand::Rng as _;
    let mut x = Vec::with_capacity((train + test) * YINYANG_FEATURES);
    let mut y = Vec::with_capacity(train + test);
    for (part, n) in [("train", train), ("test", test)] {
        let mut rng = crate::rng::stream(seed, "classify.yinyang", part, 0);
        for _ in 0..n {
            let goal = rng.random_range(0..YINYANG_CLASSES);
            let (px, py) = loop {
                let px = rng.random::<f64>() * 2.0 * r_big;
                let py = rng.random::<f64>() * 2.0 * r_big;
                let inside = ((px - r_big).powi(2) + (py - r_big).powi(2)).sqrt() <= r_big;
                if inside && yinyang_class(px, py, r_small, r_big) == goal {
                    break (px, py);
                }
            };
            x.extend_from_slice(&[px, py, 1.0 - px, 1.0 - py]);
            y.push(goal);
        }
    }
    Dataset {
        features: YINYANG_FEATURES,
        classes: YINYANG_CLASSES,
        x,
        y,
        split: Some(train),
        events: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn row(pixel: u32, label: u32) -> String {
        let mut v = vec![pixel.to_string(); DIGITS_FEATURES];
        v.push(label.to_string());
        v.join(",")
    }

    /// A small file written here, plain and gzipped, reads back with its values scaled; the
    /// built-in copy is scikit-learn's 1 797 samples with every class present.
    #[test]
    fn reads_digits_files_plain_gzipped_and_built_in() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{}\n{}\n\n{}\n", row(0, 3), row(16, 9), row(8, 0));
        let plain = dir.path().join("d.csv");
        std::fs::write(&plain, &text).unwrap();
        let gz = dir.path().join("d.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        enc.write_all(text.as_bytes()).unwrap();
        enc.finish().unwrap();
        for p in [&plain, &gz] {
            let d = digits(Some(p)).unwrap();
            assert_eq!(d.len(), 3);
            assert_eq!(d.y, vec![3, 9, 0]);
            assert!(d.sample(0).iter().all(|&v| v == 0.0));
            assert!(d.sample(1).iter().all(|&v| v == 1.0));
            assert!(d.sample(2).iter().all(|&v| v == 0.5));
        }
        let d = digits(None).unwrap();
        assert_eq!(d.len(), 1797);
        assert_eq!(d.x.len(), 1797 * 64);
        let mut counts = [0usize; 10];
        d.y.iter().for_each(|&c| counts[c] += 1);
        assert!(
            counts.iter().all(|&c| (170..=190).contains(&c)),
            "{counts:?}"
        );
        // The first image of scikit-learn's file (a 0), as `load_digits().data[0]`.
        assert_eq!(d.y[0], 0);
        assert_eq!(
            &d.sample(0)[..8],
            &[
                0.0,
                0.0,
                5.0 / 16.0,
                13.0 / 16.0,
                9.0 / 16.0,
                1.0 / 16.0,
                0.0,
                0.0
            ]
        );
    }

    /// The class of a point of the figure written another way: the left half-size disc is
    /// class 1 and the right one class 0 (each less its dot), elsewhere the upper half is
    /// class 1; the dots are class 2. Squared distances, no square roots.
    fn figure_class(x: f64, y: f64, r_small: f64, r_big: f64) -> usize {
        let (l, r) = ((0.5 * r_big, r_big), (1.5 * r_big, r_big));
        let d2 = |c: (f64, f64)| (x - c.0) * (x - c.0) + (y - c.1) * (y - c.1);
        let (s2, h2) = (r_small * r_small, 0.25 * r_big * r_big);
        if d2(l) < s2 || d2(r) < s2 {
            2
        } else if d2(l) <= h2 {
            1
        } else if d2(r) <= h2 {
            0
        } else {
            usize::from(y > r_big)
        }
    }

    /// Every generated point lies in the figure, has the class of the independent check and
    /// the features (x, y, 1 − x, 1 − y); the classes are balanced; the same seed gives the
    /// same data and another seed other data; training and test sets differ.
    #[test]
    fn yinyang_points_have_their_class_balanced_and_seeded() {
        for (r_small, r_big) in [(0.1, 0.5), (0.05, 0.3)] {
            let d = yinyang(7, 3000, 1000, r_small, r_big);
            assert_eq!((d.len(), d.features, d.classes), (4000, 4, 3));
            assert_eq!(d.split, Some(3000));
            let mut counts = [0usize; 3];
            for k in 0..d.len() {
                let f = d.sample(k);
                let (x, y) = (f[0], f[1]);
                assert!((x - r_big).hypot(y - r_big) <= r_big, "{x} {y}");
                assert_eq!((f[2], f[3]), (1.0 - x, 1.0 - y));
                assert!(f.iter().all(|v| (0.0..=1.0).contains(v)));
                assert_eq!(figure_class(x, y, r_small, r_big), d.y[k], "({x}, {y})");
                counts[d.y[k]] += 1;
            }
            // Each class has probability 1/3: 4 000 draws give 1 333 ± 30 (1 sd).
            assert!(
                counts.iter().all(|&c| (1213..=1453).contains(&c)),
                "{counts:?}"
            );
        }
        let a = yinyang(7, 200, 100, 0.1, 0.5);
        assert_eq!(a, yinyang(7, 200, 100, 0.1, 0.5));
        assert_ne!(a.x, yinyang(8, 200, 100, 0.1, 0.5).x);
        // The training samples do not depend on the test size, and the test set is not a
        // copy of the training set's start.
        let b = yinyang(7, 200, 10, 0.1, 0.5);
        assert_eq!(a.x[..800], b.x[..800]);
        assert_ne!(a.x[800..840], a.x[..40]);
    }

    /// `yinyang_class` gives the labels of the published formula restated in numpy
    /// (tests/reference/gen/gen_yinyang.py) on a grid and on random points of the figure.
    #[test]
    fn yinyang_class_matches_the_published_formula() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/reference/yinyang_classes.json"
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let list = |k: &str| -> Vec<f64> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        };
        let (x, y, c) = (list("x"), list("y"), list("class"));
        assert!(x.len() > 2000, "{}", x.len());
        let (rs, rb) = (v["r_small"].as_f64().unwrap(), v["r_big"].as_f64().unwrap());
        let mut counts = [0usize; 3];
        for k in 0..x.len() {
            assert_eq!(
                yinyang_class(x[k], y[k], rs, rb),
                c[k] as usize,
                "({}, {})",
                x[k],
                y[k]
            );
            counts[c[k] as usize] += 1;
        }
        assert!(counts.iter().all(|&n| n > 150), "{counts:?}");
    }

    /// Malformed rows are refused naming the source and the line.
    #[test]
    fn malformed_digits_are_refused_naming_the_line() {
        let bad = [
            (format!("{}\n{}", row(1, 1), "1,2,3"), "line 2: 3 values"),
            (row(17, 1), "line 1: pixel 0 is 17"),
            (row(1, 10), "line 1: the label is 10"),
            (row(1, 1).replacen('1', "x", 1), "line 1: pixel 0 is `x`"),
            (String::new(), "no samples"),
        ];
        for (text, want) in bad {
            let e = parse_digits(text.as_bytes(), "f.csv").unwrap_err();
            assert!(e.starts_with("f.csv: ") && e.contains(want), "{e}");
        }
        let e = digits(Some(Path::new("/nonexistent/digits.csv"))).unwrap_err();
        assert!(e.contains("cannot read /nonexistent/digits.csv"), "{e}");
    }
}
