//! A small little-endian binary encoding for checkpoint payloads. Every read is bounds-checked
//! and fails with a message instead of panicking, so a damaged payload that passed the
//! checksum by chance is still refused cleanly.

use crate::rng::Rng;
use crate::Real;

/// Where an [`Enc`] hands its bytes on: a checkpoint file being written
/// ([`super::Writer`]). An error is kept and reported by [`Enc::finish`], so that encoding
/// goes on to its end (and a collective encoding stays in step on every rank).
pub type Sink<'a> = &'a mut dyn FnMut(&[u8]) -> std::io::Result<()>;

/// Appends values to a byte buffer, or, with a sink, streams them through a small one (so
/// that a network's state is never held encoded in memory as a whole).
#[derive(Default)]
pub struct Enc<'a> {
    /// The bytes written so far (with a sink: not yet handed on).
    pub buf: Vec<u8>,
    sink: Option<Sink<'a>>,
    failed: Option<std::io::Error>,
}

impl std::fmt::Debug for Enc<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enc")
            .field("buffered", &self.buf.len())
            .field("streaming", &self.sink.is_some())
            .finish()
    }
}

/// Bytes an [`Enc`] with a sink buffers before handing them on.
const SPILL: usize = 1 << 20;
/// Elements of a column written between checks of the buffer.
const RUN: usize = 1 << 16;

impl<'a> Enc<'a> {
    /// An encoder that hands its bytes to `sink` about a megabyte at a time.
    pub fn streaming(sink: Sink<'a>) -> Self {
        Enc {
            buf: Vec::with_capacity(SPILL + RUN * 8),
            sink: Some(sink),
            failed: None,
        }
    }

    /// Hands the buffer on once it is full (with a sink).
    fn spill(&mut self, at_least: usize) {
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        if self.buf.len() >= at_least {
            if self.failed.is_none() {
                if let Err(e) = sink(&self.buf) {
                    self.failed = Some(e);
                }
            }
            self.buf.clear();
        }
    }

    /// Hands the buffer on once it holds about a megabyte (with a sink): the column methods
    /// do it themselves; a caller that writes a long run value by value calls it between
    /// pieces.
    pub fn settle(&mut self) {
        self.spill(SPILL);
    }

    /// Hands on what is buffered; the sink's first error, if any.
    pub fn finish(mut self) -> std::io::Result<()> {
        self.spill(1);
        self.failed.map_or(Ok(()), Err)
    }

    /// One byte.
    pub fn u8(&mut self, x: u8) {
        self.buf.push(x);
    }
    /// A 32-bit integer.
    pub fn u32(&mut self, x: u32) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }
    /// A 64-bit integer.
    pub fn u64(&mut self, x: u64) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }
    /// A real by bit pattern.
    pub fn f64(&mut self, x: f64) {
        self.u64(x.to_bits());
    }
    /// A length-prefixed byte string.
    pub fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.raw(b);
    }
    /// Bytes as they are, without a length.
    pub fn raw(&mut self, b: &[u8]) {
        if self.sink.is_some() && b.len() >= SPILL {
            self.spill(1);
            if let (Some(sink), None) = (self.sink.as_mut(), &self.failed) {
                if let Err(e) = sink(b) {
                    self.failed = Some(e);
                }
            }
        } else {
            self.buf.extend_from_slice(b);
            self.spill(SPILL);
        }
    }
    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    /// A length-prefixed column of f64 (the same bytes as [`reals`](Self::reals) of the
    /// same values).
    pub fn f64s(&mut self, xs: &[f64]) {
        self.u64(xs.len() as u64);
        for run in xs.chunks(RUN) {
            run.iter().for_each(|&x| self.f64(x));
            self.spill(SPILL);
        }
    }
    /// A length-prefixed column of reals, stored as f64 in every build.
    pub fn reals(&mut self, xs: &[Real]) {
        self.u64(xs.len() as u64);
        for run in xs.chunks(RUN) {
            run.iter().for_each(|&x| self.f64(crate::real::wide(x)));
            self.spill(SPILL);
        }
    }
    /// A length-prefixed column of u64.
    pub fn u64s(&mut self, xs: &[u64]) {
        self.u64(xs.len() as u64);
        for run in xs.chunks(RUN) {
            run.iter().for_each(|&x| self.u64(x));
            self.spill(SPILL);
        }
    }
    /// A length-prefixed column of u32.
    pub fn u32s(&mut self, xs: &[u32]) {
        self.u64(xs.len() as u64);
        for run in xs.chunks(RUN) {
            run.iter().for_each(|&x| self.u32(x));
            self.spill(SPILL);
        }
    }
    /// A length-prefixed column of u16.
    pub fn u16s(&mut self, xs: &[u16]) {
        self.u64(xs.len() as u64);
        for run in xs.chunks(RUN) {
            run.iter()
                .for_each(|&x| self.buf.extend_from_slice(&x.to_le_bytes()));
            self.spill(SPILL);
        }
    }
    /// A ChaCha8 stream: key, stream number and word position.
    pub fn rng(&mut self, r: &Rng) {
        self.buf.extend_from_slice(&r.get_seed());
        self.u64(r.get_stream());
        self.buf.extend_from_slice(&r.get_word_pos().to_le_bytes());
    }
}

/// Reads values back in the order they were written.
#[derive(Debug)]
pub struct Dec<'a> {
    buf: &'a [u8],
    at: usize,
}

/// A decoding error: the payload is not what this version writes.
pub type DecResult<T> = std::result::Result<T, String>;

impl<'a> Dec<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Dec { buf, at: 0 }
    }

    fn take(&mut self, n: usize) -> DecResult<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(e) => {
                let s = &self.buf[self.at..e];
                self.at = e;
                Ok(s)
            }
            None => Err(format!(
                "payload ends early (wanted {n} bytes at offset {})",
                self.at
            )),
        }
    }
    fn arr<const N: usize>(&mut self) -> DecResult<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("length checked"))
    }
    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.at
    }
    /// Whether everything was read.
    pub fn finished(&self) -> bool {
        self.at == self.buf.len()
    }
    /// One byte.
    pub fn u8(&mut self) -> DecResult<u8> {
        Ok(self.take(1)?[0])
    }
    /// A 32-bit integer.
    pub fn u32(&mut self) -> DecResult<u32> {
        Ok(u32::from_le_bytes(self.arr()?))
    }
    /// A 64-bit integer.
    pub fn u64(&mut self) -> DecResult<u64> {
        Ok(u64::from_le_bytes(self.arr()?))
    }
    /// A real.
    pub fn f64(&mut self) -> DecResult<f64> {
        Ok(f64::from_bits(self.u64()?))
    }
    /// A length, checked against what is left (each element at least `elem` bytes).
    fn len(&mut self, elem: usize) -> DecResult<usize> {
        let n = self.u64()?;
        let left = (self.buf.len() - self.at) as u64;
        if n.saturating_mul(elem as u64) > left {
            return Err(format!("length {n} exceeds the payload"));
        }
        Ok(n as usize)
    }
    /// A column's bytes as they are, without copying them: its length, checked, then
    /// that many elements of `elem` bytes.
    pub fn column_bytes(&mut self, elem: usize) -> DecResult<&'a [u8]> {
        let n = self.len(elem)?;
        self.take(n * elem)
    }
    /// A byte string.
    pub fn bytes(&mut self) -> DecResult<Vec<u8>> {
        let n = self.len(1)?;
        Ok(self.take(n)?.to_vec())
    }
    /// A UTF-8 string.
    pub fn str(&mut self) -> DecResult<String> {
        String::from_utf8(self.bytes()?).map_err(|_| "a string is not UTF-8".to_string())
    }
    /// A column of f64.
    pub fn f64s(&mut self) -> DecResult<Vec<f64>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.f64()).collect()
    }
    /// A column of reals.
    pub fn reals(&mut self) -> DecResult<Vec<Real>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.f64().map(|x| x as Real)).collect()
    }
    /// A column of u64.
    pub fn u64s(&mut self) -> DecResult<Vec<u64>> {
        let n = self.len(8)?;
        (0..n).map(|_| self.u64()).collect()
    }
    /// A column of u32.
    pub fn u32s(&mut self) -> DecResult<Vec<u32>> {
        let n = self.len(4)?;
        (0..n).map(|_| self.u32()).collect()
    }
    /// A column of u16.
    pub fn u16s(&mut self) -> DecResult<Vec<u16>> {
        let n = self.len(2)?;
        (0..n)
            .map(|_| Ok(u16::from_le_bytes(self.arr()?)))
            .collect()
    }
    /// A ChaCha8 stream.
    pub fn rng(&mut self) -> DecResult<Rng> {
        use rand::SeedableRng;
        let seed: [u8; 32] = self.arr()?;
        let stream = self.u64()?;
        let pos = u128::from_le_bytes(self.arr()?);
        let mut r = Rng::from_seed(seed);
        r.set_stream(stream);
        r.set_word_pos(pos);
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn values_and_streams_round_trip() {
        let mut r = crate::rng::stream(3, "d", "n", 0);
        let _: u64 = r.random();
        let mut e = Enc::default();
        e.u8(7);
        e.str("name");
        e.reals(&[1.5, -0.0, Real::NAN]);
        e.u16s(&[1, 2]);
        e.rng(&r);
        let mut d = Dec::new(&e.buf);
        assert_eq!(d.u8().unwrap(), 7);
        assert_eq!(d.str().unwrap(), "name");
        let x = d.reals().unwrap();
        assert_eq!(x[1].to_bits(), (-0.0 as Real).to_bits());
        assert!(x[2].is_nan());
        assert_eq!(d.u16s().unwrap(), vec![1, 2]);
        let mut r2 = d.rng().unwrap();
        assert!(d.finished());
        assert_eq!(r.random::<u64>(), r2.random::<u64>());
        // A truncated payload is an error, not a panic.
        let mut d = Dec::new(&e.buf[..e.buf.len() - 3]);
        d.u8().unwrap();
        d.str().unwrap();
        d.reals().unwrap();
        d.u16s().unwrap();
        assert!(d.rng().is_err());
    }

    #[test]
    fn a_streaming_encoder_writes_the_same_bytes_and_keeps_its_sink_error() {
        let column: Vec<u32> = (0..3 * RUN as u32 + 7).collect();
        let blob = vec![9u8; SPILL + 3];
        let write = |e: &mut Enc| {
            e.u8(1);
            e.u32s(&column);
            e.bytes(&blob);
            e.reals(&[0.5; 10]);
        };
        let mut whole = Enc::default();
        write(&mut whole);
        let mut got = Vec::new();
        let mut calls = 0;
        let mut sink = |b: &[u8]| {
            got.extend_from_slice(b);
            calls += 1;
            Ok(())
        };
        let mut e = Enc::streaming(&mut sink);
        write(&mut e);
        e.finish().unwrap();
        assert!(calls > 1, "handed on in pieces");
        assert_eq!(got, whole.buf);
        // A failing sink: encoding goes on, the first error comes back.
        let mut failing = |_: &[u8]| Err(std::io::Error::other("disk full"));
        let mut e = Enc::streaming(&mut failing);
        write(&mut e);
        assert_eq!(e.finish().unwrap_err().to_string(), "disk full");
    }
}
