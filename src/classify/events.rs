//! Event datasets: samples that are already spike trains. N-MNIST (Orchard et al. 2015) is a
//! tree of binary files, one per sample, `Train/<digit>/*.bin` and `Test/<digit>/*.bin`; each
//! event is 40 bits, big-endian: x (8 bits), y (8 bits), polarity (1 bit), timestamp (23 bits,
//! µs). The Spiking Heidelberg Digits (Cramer et al. 2020) are two HDF5 files, `shd_train.h5`
//! and `shd_test.h5`, with the ragged datasets `spikes/times` (seconds) and `spikes/units`
//! (channel 0–699) and the dataset `labels` (0–19).
//!
//! Why it is built this way: the events stay events (time in µs and channel, 8 bytes each)
//! until a sample is run, when `Events(bin_ms)` bins them into the task's steps — the binning
//! is the task's choice, not the dataset's. hdf5-pure reads the descriptors of a ragged
//! (variable-length) dataset but has no public reader of their contents, so the few lines
//! that follow a descriptor into the file's global heap (HDF5 format §III.E: a `GCOL`
//! collection of numbered objects) are written here.

use super::data::Dataset;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One event of a sample: its time (µs from the sample's start) and its input channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Time in µs.
    pub t_us: u32,
    /// Input neuron.
    pub channel: u32,
}

/// N-MNIST sensor width and height (pixels).
pub const NMNIST_SIDE: usize = 34;
/// N-MNIST input channels: polarity × y × x (channel = (p·34 + y)·34 + x).
pub const NMNIST_CHANNELS: usize = 2 * NMNIST_SIDE * NMNIST_SIDE;
/// SHD input channels (the cochlea model's fibres).
pub const SHD_CHANNELS: usize = 700;
/// SHD classes (ten digits in English and in German).
pub const SHD_CLASSES: usize = 20;

/// Parses one N-MNIST file's bytes; `label` names it in errors.
pub fn parse_nmnist(bytes: &[u8], label: &str) -> Result<Vec<Event>, String> {
    if !bytes.len().is_multiple_of(5) {
        return Err(format!(
            "{label}: {} bytes, not a whole number of 5-byte N-MNIST events",
            bytes.len()
        ));
    }
    bytes
        .chunks_exact(5)
        .enumerate()
        .map(|(k, b)| {
            let (x, y) = (b[0] as usize, b[1] as usize);
            if x >= NMNIST_SIDE || y >= NMNIST_SIDE {
                return Err(format!(
                    "{label}: event {k}: address ({x}, {y}) outside the 34 × 34 sensor"
                ));
            }
            let p = (b[2] >> 7) as usize;
            let t = (u32::from(b[2] & 0x7f) << 16) | (u32::from(b[3]) << 8) | u32::from(b[4]);
            Ok(Event {
                t_us: t,
                channel: ((p * NMNIST_SIDE + y) * NMNIST_SIDE + x) as u32,
            })
        })
        .collect()
}

/// The samples `cap` picks of `items` (all when `None`; else that many, drawn from the
/// stream (seed, `classify.events`, `part`), in their drawn order).
fn pick<T>(mut items: Vec<T>, cap: Option<usize>, seed: u64, part: &str) -> Vec<T> {
    use rand::Rng as _;
    let Some(n) = cap else { return items };
    let mut rng = crate::rng::stream(seed, "classify.events", part, 0);
    let n = n.min(items.len());
    for i in 0..n {
        let j = rng.random_range(i..items.len());
        items.swap(i, j);
    }
    items.truncate(n);
    items
}

/// A dataset of event samples made of a training and a test part, in that order: `part(k)`
/// gives part k's (events, label) pairs as picked (0 training, 1 test).
fn from_parts(
    features: usize,
    classes: usize,
    mut part: impl FnMut(usize) -> Result<Vec<(Vec<Event>, usize)>, String>,
) -> Result<Dataset, String> {
    let mut events = Vec::new();
    let mut y = Vec::new();
    let mut split = 0;
    for k in 0..2 {
        for (ev, label) in part(k)? {
            events.push(ev);
            y.push(label);
        }
        if k == 0 {
            split = y.len();
        }
    }
    Ok(Dataset {
        features,
        classes,
        x: Vec::new(),
        y,
        split: Some(split),
        events,
    })
}

/// N-MNIST from the directory `dir` (`Train/0` … `Train/9`, `Test/0` … `Test/9`, each of
/// `*.bin` files): all the samples, or `train` and `test` of them drawn from the seed.
pub fn nmnist(
    dir: &Path,
    train: Option<usize>,
    test: Option<usize>,
    seed: u64,
) -> Result<Dataset, String> {
    let parts = [("Train", train), ("Test", test)];
    from_parts(NMNIST_CHANNELS, 10, |k| {
        let (part, cap) = parts[k];
        let mut files: Vec<(PathBuf, usize)> = Vec::new();
        for digit in 0..10 {
            let d = dir.join(part).join(digit.to_string());
            let list = std::fs::read_dir(&d).map_err(|e| {
                format!(
                    "cannot read {}: {e} (N-MNIST's layout: Train/<digit>/*.bin and Test/<digit>/*.bin)",
                    d.display()
                )
            })?;
            let mut names: Vec<PathBuf> = list
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "bin"))
                .collect();
            names.sort();
            files.extend(names.into_iter().map(|p| (p, digit)));
        }
        if files.is_empty() {
            return Err(format!("{}: no .bin files", dir.join(part).display()));
        }
        pick(files, cap, seed, part)
            .into_iter()
            .map(|(path, digit)| {
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
                Ok((parse_nmnist(&bytes, &path.display().to_string())?, digit))
            })
            .collect()
    })
}

/// The Spiking Heidelberg Digits from `dir/shd_train.h5` and `dir/shd_test.h5`: all the
/// samples, or `train` and `test` of them drawn from the seed.
pub fn shd(
    dir: &Path,
    train: Option<usize>,
    test: Option<usize>,
    seed: u64,
) -> Result<Dataset, String> {
    let parts = [
        ("shd_train.h5", "train", train),
        ("shd_test.h5", "test", test),
    ];
    from_parts(SHD_CHANNELS, SHD_CLASSES, |k| {
        let (name, part, cap) = parts[k];
        let (ev, labels) = read_shd(&dir.join(name))?;
        let mut ev: Vec<Option<Vec<Event>>> = ev.into_iter().map(Some).collect();
        Ok(pick((0..labels.len()).collect(), cap, seed, part)
            .into_iter()
            .map(|i| (ev[i].take().expect("each sample picked once"), labels[i]))
            .collect())
    })
}

/// One SHD file's samples and labels. Errors name the file and the dataset.
pub fn read_shd(path: &Path) -> Result<(Vec<Vec<Event>>, Vec<usize>), String> {
    let p = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {p}: {e}"))?;
    if !hdf5_pure::is_hdf5_bytes(&bytes) {
        return Err(format!("{p}: not an HDF5 file"));
    }
    let file = hdf5_pure::File::from_bytes(bytes.clone())
        .map_err(|e| format!("{p}: unreadable HDF5 file: {e}"))?;
    let open = |name: &str| {
        file.dataset(name)
            .map_err(|e| format!("{p}: no dataset `{name}`: {e}"))
    };
    let labels = open("labels")?
        .read_i64()
        .map_err(|e| format!("{p}: `labels`: {e}"))?;
    let times =
        vlen(&bytes, &open("spikes/times")?).map_err(|e| format!("{p}: `spikes/times`: {e}"))?;
    let units =
        vlen(&bytes, &open("spikes/units")?).map_err(|e| format!("{p}: `spikes/units`: {e}"))?;
    if times.len() != labels.len() || units.len() != labels.len() {
        return Err(format!(
            "{p}: {} labels, {} `spikes/times` and {} `spikes/units` rows (one each per sample)",
            labels.len(),
            times.len(),
            units.len()
        ));
    }
    let mut out = Vec::with_capacity(labels.len());
    let mut y = Vec::with_capacity(labels.len());
    for k in 0..labels.len() {
        let at = |what: &str, m: String| format!("{p}: `{what}` sample {k}: {m}");
        if !(0..SHD_CLASSES as i64).contains(&labels[k]) {
            return Err(format!(
                "{p}: `labels` sample {k}: {} is not a class 0..19",
                labels[k]
            ));
        }
        y.push(labels[k] as usize);
        let t = floats(&times[k]).map_err(|m| at("spikes/times", m))?;
        let u = uints(&units[k]).map_err(|m| at("spikes/units", m))?;
        if t.len() != u.len() {
            return Err(at(
                "spikes/units",
                format!("{} units for {} times", u.len(), t.len()),
            ));
        }
        let mut ev = Vec::with_capacity(t.len());
        for (j, (&t, &u)) in t.iter().zip(&u).enumerate() {
            if !(t.is_finite() && (0.0..4000.0).contains(&t)) {
                return Err(at("spikes/times", format!("spike {j} at {t} s")));
            }
            if u as usize >= SHD_CHANNELS {
                return Err(at(
                    "spikes/units",
                    format!("spike {j} on unit {u}, not 0..699"),
                ));
            }
            ev.push(Event {
                t_us: (t * 1e6).round() as u32,
                channel: u as u32,
            });
        }
        out.push(ev);
    }
    Ok((out, y))
}

/// A ragged sequence: its element count and bytes.
pub struct Seq {
    len: usize,
    bytes: Vec<u8>,
}

fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |a, &x| (a << 8) | u64::from(x))
}

/// The sequences of a variable-length dataset: each element's descriptor (length u32, global
/// heap collection address u64, object index u32) followed into the heap. The file's
/// offsets and lengths must be 8 bytes (h5py's and HDF5's default).
fn vlen(file: &[u8], ds: &hdf5_pure::Dataset) -> Result<Vec<Seq>, String> {
    let raw = ds.read_raw().map_err(|e| e.to_string())?;
    if !raw.len().is_multiple_of(16) {
        return Err("not a variable-length dataset of 16-byte descriptors".into());
    }
    // Collection address → object index → (offset, size).
    let mut heaps: HashMap<u64, HashMap<u64, (usize, usize)>> = HashMap::new();
    raw.chunks_exact(16)
        .enumerate()
        .map(|(k, d)| {
            let len = le(&d[0..4]) as usize;
            let (addr, index) = (le(&d[4..12]), le(&d[12..16]));
            if len == 0 {
                return Ok(Seq {
                    len,
                    bytes: Vec::new(),
                });
            }
            if let std::collections::hash_map::Entry::Vacant(e) = heaps.entry(addr) {
                e.insert(collection(file, addr).map_err(|m| format!("row {k}: {m}"))?);
            }
            let &(off, size) = heaps[&addr]
                .get(&index)
                .ok_or_else(|| format!("row {k}: no heap object {index} at {addr}"))?;
            if !size.is_multiple_of(len) {
                return Err(format!("row {k}: {size} bytes for {len} elements"));
            }
            Ok(Seq {
                len,
                bytes: file[off..off + size].to_vec(),
            })
        })
        .collect()
}

/// The objects of the global heap collection at `addr`: index → (offset, size).
fn collection(file: &[u8], addr: u64) -> Result<HashMap<u64, (usize, usize)>, String> {
    let a = usize::try_from(addr).map_err(|_| "address out of range".to_string())?;
    let head = file
        .get(a..a + 16)
        .ok_or_else(|| format!("heap address {addr} past the end of the file"))?;
    if &head[0..4] != b"GCOL" || head[4] != 1 {
        return Err(format!(
            "no global heap collection (GCOL, version 1) at {addr}"
        ));
    }
    let end = a.saturating_add(le(&head[8..16]) as usize).min(file.len());
    let mut objects = HashMap::new();
    let mut pos = a + 16;
    while pos + 16 <= end {
        let index = le(&file[pos..pos + 2]);
        let size = le(&file[pos + 8..pos + 16]) as usize;
        if index == 0 {
            break; // the free space runs to the end
        }
        let data = pos + 16;
        if data.saturating_add(size) > end {
            return Err(format!(
                "heap object {index} at {addr} runs past its collection"
            ));
        }
        objects.insert(index, (data, size));
        pos = data + size.div_ceil(8) * 8;
    }
    Ok(objects)
}

/// Little-endian floats of 2 (IEEE half), 4 or 8 bytes.
fn floats(s: &Seq) -> Result<Vec<f64>, String> {
    if s.len == 0 {
        return Ok(Vec::new());
    }
    let w = s.bytes.len() / s.len;
    let c = s.bytes.chunks_exact(w);
    match w {
        2 => Ok(c.map(|b| half(le(b) as u16)).collect()),
        4 => Ok(c.map(|b| f64::from(f32::from_bits(le(b) as u32))).collect()),
        8 => Ok(c.map(|b| f64::from_bits(le(b))).collect()),
        _ => Err(format!("{w}-byte elements, not floats")),
    }
}

/// Little-endian unsigned integers of 1, 2, 4 or 8 bytes.
fn uints(s: &Seq) -> Result<Vec<u64>, String> {
    if s.len == 0 {
        return Ok(Vec::new());
    }
    let w = s.bytes.len() / s.len;
    match w {
        1 | 2 | 4 | 8 => Ok(s.bytes.chunks_exact(w).map(le).collect()),
        _ => Err(format!("{w}-byte elements, not integers")),
    }
}

/// An IEEE 754 half-precision float.
fn half(h: u16) -> f64 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f64::from(h & 0x3ff);
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// Bins `events` into `steps` steps of `bin_us` µs over `channels` inputs: the value of an
/// input in a step is the number of its events in that step (events after the last step are
/// dropped). Writes steps × channels values into `out` (resized).
pub fn bin(events: &[Event], bin_us: f64, steps: usize, channels: usize, out: &mut Vec<f64>) {
    out.clear();
    out.resize(steps * channels, 0.0);
    for e in events {
        let t = (f64::from(e.t_us) / bin_us).floor() as usize;
        if t < steps && (e.channel as usize) < channels {
            out[t * channels + e.channel as usize] += 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/events")
    }

    /// The events and labels of `events.json` (written by gen_event_fixtures.py).
    fn expected(key: &str) -> (Vec<Vec<Event>>, Vec<usize>) {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(fixtures().join("events.json")).unwrap())
                .unwrap();
        let samples = v[key].as_array().unwrap();
        let ev = samples
            .iter()
            .map(|s| {
                s["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| Event {
                        t_us: e[0].as_u64().unwrap() as u32,
                        channel: e[1].as_u64().unwrap() as u32,
                    })
                    .collect()
            })
            .collect();
        let y = samples
            .iter()
            .map(|s| s["label"].as_u64().unwrap() as usize)
            .collect();
        (ev, y)
    }

    /// Files written in the N-MNIST and SHD formats by tests/reference/gen/
    /// gen_event_fixtures.py (h5py; float16 and float32 times) load as the events and labels
    /// the script wrote, training samples first; a cap draws that many from the seed.
    #[test]
    fn nmnist_and_shd_files_load_as_written() {
        for (key, train) in [("nmnist", 11), ("shd", 7)] {
            let dir = fixtures().join(key);
            let d = if key == "nmnist" {
                nmnist(&dir, None, None, 1).unwrap()
            } else {
                shd(&dir, None, None, 1).unwrap()
            };
            let (ev, y) = expected(key);
            assert_eq!(d.split, Some(train), "{key}");
            assert_eq!(d.y, y, "{key}");
            assert_eq!(d.events, ev, "{key}");
            assert!(ev.iter().map(Vec::len).sum::<usize>() > 20, "{key}");
            let c = if key == "nmnist" {
                nmnist(&dir, Some(3), Some(2), 5).unwrap()
            } else {
                shd(&dir, Some(3), Some(2), 5).unwrap()
            };
            assert_eq!((c.len(), c.split), (5, Some(3)), "{key}");
            for k in 0..5 {
                let j = (0..ev.len())
                    .find(|&j| ev[j] == c.events[k] && y[j] == c.y[k])
                    .expect("a sample of the file");
                assert_eq!(j < train, k < 3, "{key}: sample {k} from the right part");
            }
        }
    }

    /// Binning counts each input's events per step and drops the late ones.
    #[test]
    fn events_bin_into_steps() {
        let e = |t_us, channel| Event { t_us, channel };
        let mut out = Vec::new();
        bin(
            &[e(0, 1), e(999, 1), e(1000, 0), e(2500, 2), e(3000, 2)],
            1000.0,
            3,
            3,
            &mut out,
        );
        assert_eq!(out, vec![0.0, 2.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]);
    }

    /// Corrupt or missing files are refused naming the file and what is wrong.
    #[test]
    fn corrupt_event_files_are_refused_naming_them() {
        let e = parse_nmnist(&[1, 2, 3, 4], "a.bin").unwrap_err();
        assert!(e.contains("a.bin") && e.contains("5-byte"), "{e}");
        let e = parse_nmnist(&[34, 0, 0, 0, 0], "a.bin").unwrap_err();
        assert!(e.contains("a.bin: event 0") && e.contains("(34, 0)"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = nmnist(dir.path(), None, None, 1).unwrap_err();
        assert!(
            e.contains("Train/0") && e.contains("N-MNIST's layout"),
            "{e}"
        );
        let e = shd(dir.path(), None, None, 1).unwrap_err();
        assert!(e.contains("shd_train.h5"), "{e}");
        std::fs::write(dir.path().join("shd_train.h5"), b"not hdf5").unwrap();
        let e = shd(dir.path(), None, None, 1).unwrap_err();
        assert!(e.contains("shd_train.h5: not an HDF5 file"), "{e}");
        // An HDF5 file without the SHD datasets.
        let bytes = hdf5_pure::FileBuilder::new().finish().unwrap();
        std::fs::write(dir.path().join("shd_train.h5"), bytes).unwrap();
        let e = shd(dir.path(), None, None, 1).unwrap_err();
        assert!(e.contains("shd_train.h5: no dataset `labels`"), "{e}");
        assert_eq!(half(0x3c00), 1.0);
        assert_eq!(half(0x3555), 0.333251953125);
    }
}
