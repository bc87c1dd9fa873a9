//! A projection: the synapses from one population to another, stored as a CSR matrix by
//! presynaptic neuron (row i = the synapses of pre neuron i), so that propagating a spike is
//! one contiguous row walk. Delays are one shared value or one per synapse, aligned with the
//! matrix's columns; so are the weights: a projection whose weights are all one value (a
//! `Constant` initialiser and no learning rule) keeps that value once and the structure only.

use crate::file::Receptor;
use crate::Real;
use std::borrow::Cow;
use std::ops::Range;

/// The connectivity of a projection without values: CSR by presynaptic neuron.
pub type Structure = sprs::CsStructureI<u32, usize>;

/// The values of a projection's weights.
#[derive(Debug, Clone)]
pub enum WeightValues {
    /// One weight for every synapse: no per-synapse array.
    Shared(Real),
    /// One weight per synapse, aligned with the structure's columns.
    PerSynapse(Vec<Real>),
}

/// Sparse weights: rows = presynaptic neurons, columns = postsynaptic neurons, CSR; the values
/// either one shared weight or one per synapse. Equality is that of the logical matrices: a
/// shared weight equals a per-synapse array holding that value everywhere.
#[derive(Debug, Clone)]
pub struct Weights {
    structure: Structure,
    values: WeightValues,
}

impl Weights {
    /// Weights from CSR parts (row pointers starting at 0, sorted unique columns in range per
    /// row) and their values; the error says what is wrong with the parts.
    pub fn try_from_parts(
        shape: (usize, usize),
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: WeightValues,
    ) -> Result<Self, String> {
        if let WeightValues::PerSynapse(v) = &values {
            if v.len() != indices.len() {
                return Err(format!(
                    "{} weights for {} synapses",
                    v.len(),
                    indices.len()
                ));
            }
        }
        if indptr.first().is_some_and(|&x| x != 0) {
            return Err("row pointers do not start at 0".into());
        }
        let unit = vec![(); indices.len()];
        let structure =
            Structure::try_new(shape, indptr, indices, unit).map_err(|(.., e)| e.to_string())?;
        Ok(Weights { structure, values })
    }

    /// Takes the parts out — shape, row pointers, columns, values — and leaves an empty 0 × 0
    /// matrix: for an edit that changes the arrays in place (no fresh pages for a 20-million
    /// synapse projection) and puts them back with
    /// [`from_edited_parts`](Self::from_edited_parts).
    pub(crate) fn take_parts(&mut self) -> ((usize, usize), Vec<usize>, Vec<u32>, WeightValues) {
        let shape = self.shape();
        let empty = Structure::new((0, 0), vec![0], Vec::new(), Vec::new());
        let (indptr, indices, _) = std::mem::replace(&mut self.structure, empty).into_raw_storage();
        let values = std::mem::replace(&mut self.values, WeightValues::Shared(0.0));
        (shape, indptr, indices, values)
    }

    /// Weights from parts that an edit keeps well formed and has checked where it changed
    /// them ([`take_parts`](Self::take_parts) of valid weights, runs of whole rows moved, the
    /// edited rows checked sorted and in range). The row pointers and value count are checked
    /// here (O(rows)); the full check of every row (O(synapses), as costly as the edit itself)
    /// only in debug builds. Panics on what it checks.
    pub(crate) fn from_edited_parts(
        shape: (usize, usize),
        indptr: Vec<usize>,
        indices: Vec<u32>,
        values: WeightValues,
    ) -> Self {
        assert_eq!(indptr.len(), shape.0 + 1, "one row pointer per row and one");
        assert!(
            indptr.first() == Some(&0)
                && indptr.last() == Some(&indices.len())
                && indptr.windows(2).all(|w| w[0] <= w[1]),
            "row pointers from 0 to the synapse count, ascending"
        );
        if let WeightValues::PerSynapse(v) = &values {
            assert_eq!(v.len(), indices.len(), "one weight per synapse");
        }
        if cfg!(debug_assertions) {
            let checked = Structure::try_new(
                shape,
                indptr.clone(),
                indices.clone(),
                vec![(); indices.len()],
            );
            assert!(
                checked.is_ok(),
                "edited rows: {:?}",
                checked.err().map(|e| e.3)
            );
        }
        let unit = vec![(); indices.len()];
        // SAFETY: sprs may rely on the structure's invariants (row pointers ascending from 0 to
        // the synapse count, each row's columns sorted, unique and below `shape.1`). The row
        // pointers are checked above; the columns are those of valid weights
        // (`take_parts`) moved as whole rows, and the rows an edit wrote, which it checks.
        let structure = unsafe {
            Structure::new_unchecked(sprs::CompressedStorage::CSR, shape, indptr, indices, unit)
        };
        Weights { structure, values }
    }

    /// Weights with one value per synapse (`data` aligned with `indices`).
    pub fn try_new(
        shape: (usize, usize),
        indptr: Vec<usize>,
        indices: Vec<u32>,
        data: Vec<Real>,
    ) -> Result<Self, String> {
        Self::try_from_parts(shape, indptr, indices, WeightValues::PerSynapse(data))
    }

    /// Weights with one value per synapse; panics on malformed parts.
    pub fn new(
        shape: (usize, usize),
        indptr: Vec<usize>,
        indices: Vec<u32>,
        data: Vec<Real>,
    ) -> Self {
        Self::try_new(shape, indptr, indices, data).expect("well-formed CSR parts")
    }

    /// Weights whose synapses all have the value `w`, with no per-synapse array.
    pub fn try_shared(
        shape: (usize, usize),
        indptr: Vec<usize>,
        indices: Vec<u32>,
        w: Real,
    ) -> Result<Self, String> {
        Self::try_from_parts(shape, indptr, indices, WeightValues::Shared(w))
    }

    /// The CSR structure.
    pub fn structure(&self) -> &Structure {
        &self.structure
    }

    /// (rows, columns) = (pre neurons, post neurons).
    pub fn shape(&self) -> (usize, usize) {
        self.structure.shape()
    }

    /// Number of rows (pre neurons).
    pub fn rows(&self) -> usize {
        self.structure.rows()
    }

    /// Number of columns (post neurons).
    pub fn cols(&self) -> usize {
        self.structure.cols()
    }

    /// Number of synapses.
    pub fn nnz(&self) -> usize {
        self.structure.nnz()
    }

    /// Row pointers (rows + 1 of them, the first 0): row i's synapses are
    /// `indptr[i]..indptr[i + 1]`.
    pub fn indptr(&self) -> &[usize] {
        self.structure.indptr().into_raw_storage()
    }

    /// Column (post neuron) of every synapse, ascending within a row.
    pub fn indices(&self) -> &[u32] {
        self.structure.indices()
    }

    /// The synapses of row `i`.
    pub fn row(&self, i: usize) -> Range<usize> {
        let p = self.indptr();
        p[i]..p[i + 1]
    }

    /// The values, shared or per synapse.
    pub fn values(&self) -> &WeightValues {
        &self.values
    }

    /// The shared weight, if the synapses have no values of their own.
    pub fn shared(&self) -> Option<Real> {
        match self.values {
            WeightValues::Shared(w) => Some(w),
            WeightValues::PerSynapse(_) => None,
        }
    }

    /// The per-synapse values, if the synapses have their own.
    pub fn per_synapse(&self) -> Option<&[Real]> {
        match &self.values {
            WeightValues::Shared(_) => None,
            WeightValues::PerSynapse(v) => Some(v),
        }
    }

    /// The weight of synapse `k`.
    #[inline]
    pub fn get(&self, k: usize) -> Real {
        match &self.values {
            WeightValues::Shared(w) => {
                assert!(k < self.nnz(), "synapse {k} of {}", self.nnz());
                *w
            }
            WeightValues::PerSynapse(v) => v[k],
        }
    }

    /// Every synapse's weight, in storage order.
    pub fn iter(&self) -> impl Iterator<Item = Real> + '_ {
        let (shared, data) = match &self.values {
            WeightValues::Shared(w) => (Some(*w), &[][..]),
            WeightValues::PerSynapse(v) => (None, &v[..]),
        };
        let n = if shared.is_some() { self.nnz() } else { 0 };
        std::iter::repeat_n(shared.unwrap_or(0.0), n).chain(data.iter().copied())
    }

    /// Every synapse's weight as one array: borrowed when per synapse, expanded (allocated)
    /// when shared.
    pub fn expanded(&self) -> Cow<'_, [Real]> {
        match &self.values {
            WeightValues::Shared(w) => Cow::Owned(vec![*w; self.nnz()]),
            WeightValues::PerSynapse(v) => Cow::Borrowed(v),
        }
    }

    /// Gives every synapse its own value (the shared one), if it has none yet: what a
    /// learning rule or an edit of single weights needs.
    pub fn make_per_synapse(&mut self) {
        if let WeightValues::Shared(w) = self.values {
            self.values = WeightValues::PerSynapse(vec![w; self.nnz()]);
        }
    }

    /// The per-synapse values, writable; a shared weight is first expanded into one value
    /// per synapse ([`make_per_synapse`](Self::make_per_synapse)).
    pub fn data_mut(&mut self) -> &mut [Real] {
        self.make_per_synapse();
        match &mut self.values {
            WeightValues::PerSynapse(v) => v,
            WeightValues::Shared(_) => unreachable!("expanded above"),
        }
    }

    /// Row pointers, columns and the per-synapse values (writable; expanded as by
    /// [`data_mut`](Self::data_mut)), borrowed together.
    pub fn parts_mut(&mut self) -> (&[usize], &[u32], &mut [Real]) {
        self.make_per_synapse();
        let WeightValues::PerSynapse(v) = &mut self.values else {
            unreachable!("expanded above")
        };
        (
            self.structure.indptr().into_raw_storage(),
            self.structure.indices(),
            v,
        )
    }

    /// Bytes held: row pointers, columns, and the values (none per synapse when shared).
    pub fn heap_bytes(&self) -> usize {
        let values = match &self.values {
            WeightValues::Shared(_) => 0,
            WeightValues::PerSynapse(v) => std::mem::size_of_val(&v[..]),
        };
        std::mem::size_of_val(self.indptr()) + std::mem::size_of_val(self.indices()) + values
    }
}

impl PartialEq for Weights {
    fn eq(&self, other: &Self) -> bool {
        self.shape() == other.shape()
            && self.indptr() == other.indptr()
            && self.indices() == other.indices()
            && self.iter().eq(other.iter())
    }
}

/// Transmission delays in steps (each at least 1).
#[derive(Debug, Clone, PartialEq)]
pub enum Delays {
    /// One delay for every synapse.
    Uniform(u16),
    /// One delay per synapse, aligned with the weights' columns.
    PerSynapse(Vec<u16>),
}

impl Delays {
    /// The longest delay (steps).
    pub fn max(&self) -> u16 {
        match self {
            Delays::Uniform(d) => *d,
            Delays::PerSynapse(v) => v.iter().copied().max().unwrap_or(1),
        }
    }

    /// The shortest delay (steps).
    pub fn min(&self) -> u16 {
        match self {
            Delays::Uniform(d) => *d,
            Delays::PerSynapse(v) => v.iter().copied().min().unwrap_or(1),
        }
    }
}

/// Synaptic traces for plasticity rules: one value per presynaptic and per postsynaptic
/// neuron. Empty until a rule asks for them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Traces {
    /// Presynaptic trace, one per pre neuron (learning state: f64 in every build).
    pub pre: Vec<f64>,
    /// Postsynaptic trace, one per post neuron.
    pub post: Vec<f64>,
}

/// The synapses from one population to another.
#[derive(Debug, Clone)]
pub struct Projection {
    /// Unique name.
    pub name: String,
    /// Receptor of the postsynaptic neurons that spikes increment.
    pub receptor: Receptor,
    /// Weights, CSR by presynaptic neuron.
    pub weights: Weights,
    /// Delays in steps.
    pub delays: Delays,
    /// Traces for plasticity.
    pub traces: Traces,
    /// A convolution or pooling kernel ([`crate::file::kernel`]): the projection's connections are
    /// the kernel's, its `weights` an empty n_pre × n_post matrix, and spikes reach their
    /// targets through [`Kernel::targets`](super::Kernel::targets).
    pub kernel: Option<std::sync::Arc<super::Kernel>>,
}

impl Projection {
    /// Number of synapses.
    pub fn nnz(&self) -> usize {
        self.weights.nnz()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> (Vec<usize>, Vec<u32>) {
        (vec![0, 2, 2, 3], vec![0, 3, 1])
    }

    #[test]
    fn a_shared_weight_holds_no_array_and_reads_as_one_per_synapse() {
        let (p, i) = parts();
        let mut s = Weights::try_shared((3, 4), p.clone(), i.clone(), 1.5).unwrap();
        let full = Weights::new((3, 4), p, i, vec![1.5; 3]);
        assert_eq!(s.shared(), Some(1.5));
        assert!(s.per_synapse().is_none());
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![1.5; 3]);
        assert_eq!(&*s.expanded(), &[1.5; 3]);
        assert_eq!((s.get(2), s.row(0), s.row(1)), (1.5, 0..2, 2..2));
        assert_eq!(s, full);
        assert_eq!(
            full.heap_bytes() - s.heap_bytes(),
            3 * std::mem::size_of::<Real>()
        );
        // Writing single weights expands the shared one first.
        s.data_mut()[1] = -2.0;
        assert_eq!(s.per_synapse(), Some(&[1.5, -2.0, 1.5][..]));
        assert_ne!(s, full);
        assert_eq!(s.heap_bytes(), full.heap_bytes());
    }

    #[test]
    fn malformed_parts_are_refused() {
        let (p, i) = parts();
        assert!(Weights::try_new((3, 4), p.clone(), i.clone(), vec![1.0; 2]).is_err());
        assert!(Weights::try_shared((3, 4), p.clone(), vec![0, 4, 1], 1.0).is_err());
        assert!(Weights::try_shared((3, 4), p, vec![3, 0, 1], 1.0).is_err());
        assert!(Weights::try_shared((3, 4), vec![1, 2, 2, 3], i, 1.0).is_err());
    }
}
