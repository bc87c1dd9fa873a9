//! Little-endian byte encoding for a plugin's saved state (`save`/`load`).
//!
//! The host stores a plugin's state as opaque bytes in its checkpoints; each plugin decides
//! the layout. Decoding must refuse truncated or corrupt bytes with a message instead of
//! panicking or allocating whatever a length field claims, which every policy would
//! otherwise write again: [`StateReader`] fails every read past the end with the name of the
//! value it was reading, checks a length against the bytes left before allocating, and
//! [`StateReader::finish`] refuses bytes left over. [`StateWriter`] writes the same layout.

/// Appends values to a saved state.
#[derive(Debug, Default)]
pub struct StateWriter(Vec<u8>);

impl StateWriter {
    /// A state that starts with `magic` (a tag and version, checked by [`StateReader::magic`]).
    pub fn new(magic: &[u8]) -> Self {
        StateWriter(magic.to_vec())
    }

    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }

    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A length (u64), then the values.
    pub fn f64s(&mut self, values: impl ExactSizeIterator<Item = f64>) -> &mut Self {
        self.u64(values.len() as u64);
        values.for_each(|v| {
            self.f64(v);
        });
        self
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// Reads a saved state written by [`StateWriter`]; every read names what it reads.
#[derive(Debug)]
pub struct StateReader<'a>(&'a [u8]);

impl<'a> StateReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        StateReader(bytes)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if self.0.len() < n {
            return Err(format!(
                "saved state truncated: {what} needs {n} bytes, {} left",
                self.0.len()
            ));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    /// The header: which of `accepted` magics the state starts with (its index), or an error
    /// naming the plugin.
    pub fn magic(&mut self, accepted: &[&[u8]], plugin: &str) -> Result<usize, String> {
        let bad = || format!("saved state: not a `{plugin}` state (bad header)");
        let len = accepted.first().map_or(0, |m| m.len());
        let header = self.take(len, "the header").map_err(|_| bad())?;
        accepted.iter().position(|m| *m == header).ok_or_else(bad)
    }

    pub fn u8(&mut self, what: &str) -> Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }

    pub fn u32(&mut self, what: &str) -> Result<u32, String> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }

    pub fn u64(&mut self, what: &str) -> Result<u64, String> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }

    pub fn f64(&mut self, what: &str) -> Result<f64, String> {
        Ok(f64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }

    /// A count of records of `record_bytes` each, refused if the bytes left cannot hold them.
    pub fn count(&mut self, record_bytes: usize, what: &str) -> Result<usize, String> {
        let n = self.u64(what)?;
        match usize::try_from(n) {
            Ok(n)
                if n.checked_mul(record_bytes.max(1))
                    .is_some_and(|b| b <= self.0.len()) =>
            {
                Ok(n)
            }
            _ => Err(format!(
                "saved state: {what} is {n}, but {} bytes are left",
                self.0.len()
            )),
        }
    }

    /// A length-prefixed array of f64 (see [`StateWriter::f64s`]).
    pub fn f64s(&mut self, what: &str) -> Result<Vec<f64>, String> {
        let n = self.count(8, what)?;
        Ok(self
            .take(n * 8, what)?
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.0.len()
    }

    /// Ends reading; bytes left over mean the state is not what the reader expects.
    pub fn finish(self) -> Result<(), String> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(format!("saved state: {n} bytes too many")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_bad_bytes_are_refused() {
        let mut w = StateWriter::new(b"TST1");
        w.u8(7)
            .u32(9)
            .u64(u64::MAX)
            .f64(-0.5)
            .f64s([1.0, 2.5].into_iter());
        let bytes = w.into_bytes();
        let mut r = StateReader::new(&bytes);
        assert_eq!(r.magic(&[b"TST0", b"TST1"], "t").unwrap(), 1);
        assert_eq!(r.u8("a").unwrap(), 7);
        assert_eq!(r.u32("b").unwrap(), 9);
        assert_eq!(r.u64("c").unwrap(), u64::MAX);
        assert_eq!(r.f64("d").unwrap(), -0.5);
        assert_eq!(r.f64s("e").unwrap(), vec![1.0, 2.5]);
        r.finish().unwrap();

        let e = StateReader::new(b"XXXX")
            .magic(&[b"TST1"], "t")
            .unwrap_err();
        assert_eq!(e, "saved state: not a `t` state (bad header)");
        let e = StateReader::new(&bytes[..6]).u64("the count").unwrap_err();
        assert!(e.contains("the count needs 8 bytes, 6 left"), "{e}");
        // A length that claims more than the bytes hold is refused before allocating.
        let mut huge = StateWriter::new(b"");
        huge.u64(u64::MAX);
        let e = StateReader::new(&huge.into_bytes())
            .f64s("the curve")
            .unwrap_err();
        assert!(e.contains("the curve is 18446744073709551615"), "{e}");
        let mut r = StateReader::new(&[1, 2]);
        r.u8("x").unwrap();
        assert_eq!(r.finish().unwrap_err(), "saved state: 1 bytes too many");
    }
}
