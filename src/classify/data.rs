//! Labelled datasets of the classification task. scikit-learn's digits (data/digits/: the UCI
//! optical digits test set as scikit-learn ships it, BSD-3) is built into the binary — 57 kB
//! of gzipped CSV — so that `graphs/digits.ron` runs from any directory and a test's copy of
//! it needs no data path; `Digits(path: ...)` reads another file of the same layout, gzipped
//! or not (told by the gzip magic bytes), through the same parser.

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
    })
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
