//! A small little-endian binary encoding for checkpoint payloads. Every read is bounds-checked
//! and fails with a message instead of panicking, so a damaged payload that passed the
//! checksum by chance is still refused cleanly.

use crate::rng::Rng;
use crate::Real;

/// Appends values to a byte buffer.
#[derive(Debug, Default)]
pub struct Enc {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Enc {
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
        self.buf.extend_from_slice(b);
    }
    /// A length-prefixed UTF-8 string.
    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    /// A length-prefixed column of f64 (the same bytes as [`reals`](Self::reals) of the
    /// same values).
    pub fn f64s(&mut self, xs: &[f64]) {
        self.u64(xs.len() as u64);
        for &x in xs {
            self.f64(x);
        }
    }
    /// A length-prefixed column of reals, stored as f64 in every build.
    pub fn reals(&mut self, xs: &[Real]) {
        self.f64s(&crate::real::widen(xs));
    }
    /// A length-prefixed column of u64.
    pub fn u64s(&mut self, xs: &[u64]) {
        self.u64(xs.len() as u64);
        for &x in xs {
            self.u64(x);
        }
    }
    /// A length-prefixed column of u32.
    pub fn u32s(&mut self, xs: &[u32]) {
        self.u64(xs.len() as u64);
        for &x in xs {
            self.u32(x);
        }
    }
    /// A length-prefixed column of u16.
    pub fn u16s(&mut self, xs: &[u16]) {
        self.u64(xs.len() as u64);
        for &x in xs {
            self.buf.extend_from_slice(&x.to_le_bytes());
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
}
