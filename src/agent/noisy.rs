//! Noisy-net readouts for the off-policy trainer (Fortunato et al. 2018, factorised Gaussian
//! noise): every projection into a readout population has weights w = μ + σ ⊙ ε with
//! ε_ij = f(x_i)·f(y_j), f(x) = sgn(x)·√|x|, x ~ N(0, 1) per presynaptic and y ~ N(0, 1) per
//! postsynaptic neuron; σ starts at σ₀/√fan_in (fan_in: the presynaptic population's size).
//!
//! μ are the projection's weights in the network (the graph file's `weight` initialises them;
//! `KaimingUniform(gain: 0.57735)` is the paper's U(±1/√fan_in)); σ lives here, with the
//! target network's copy and one instance of the projection's rule per noisy projection that
//! trains σ as the network's instance trains μ (its own optimiser moments). The executor only
//! ever sees the effective weights w, so it needs nothing new: ∂L/∂μ = ∂L/∂w and
//! ∂L/∂σ = ∂L/∂w ⊙ ε. The readouts have no biases, so there is no bias noise.
//!
//! Each draw takes its stream from the caller (keyed by the environment step or the update),
//! so noise is the same on any number of threads and a checkpoint needs no generator state.

use crate::exec::{Link, Pop, Storage};
use crate::plugin::RuleInstance;
use crate::rng::Rng;
use rand_distr::{Distribution, StandardNormal};

/// σ of the noisy projections, the target network's σ, and the rule instances training σ.
pub(super) struct Noisy {
    /// The plan's links into a readout, ascending.
    pub links: Vec<usize>,
    /// σ per noisy link (one per synapse, the link's storage order).
    pub sigma: Vec<Vec<f64>>,
    /// The target network's σ.
    pub target: Vec<Vec<f64>>,
    /// One rule instance per noisy link, stepping σ.
    pub rules: Vec<RuleInstance>,
}

impl Noisy {
    /// σ₀/√fan_in on every synapse of `links`, the target a copy.
    pub fn new(
        links: Vec<usize>,
        all: &[Link],
        pops: &[Pop],
        sigma0: f64,
        rules: Vec<RuleInstance>,
    ) -> Self {
        let sigma: Vec<Vec<f64>> = links
            .iter()
            .map(|&l| {
                let link = &all[l];
                let s = sigma0 / (pops[link.pre].size.max(1) as f64).sqrt();
                vec![s; link.len(pops)]
            })
            .collect();
        Noisy {
            links,
            target: sigma.clone(),
            sigma,
            rules,
        }
    }

    /// One factorised draw for every noisy link, in link order, from `rng`.
    pub fn draw(&self, all: &[Link], pops: &[Pop], rng: &mut Rng) -> Vec<Vec<f64>> {
        self.links
            .iter()
            .map(|&l| factorised(&all[l], pops, rng))
            .collect()
    }

    /// `base` with the noisy links' weights replaced by μ + σ ⊙ ε (μ from `base`).
    pub fn apply(&self, base: &[Vec<f64>], sigma: &[Vec<f64>], eps: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let mut w = base.to_vec();
        for (k, &l) in self.links.iter().enumerate() {
            for ((x, &s), &e) in w[l].iter_mut().zip(&sigma[k]).zip(&eps[k]) {
                *x += s * e;
            }
        }
        w
    }
}

/// f(x) = sgn(x)·√|x|.
fn f(x: f64) -> f64 {
    x.signum() * x.abs().sqrt()
}

/// ε of one link: n_pre then n_post standard normals from `rng`, ε_ij = f(x_i)·f(y_j), one
/// value per synapse in the link's storage order.
pub(super) fn factorised(link: &Link, pops: &[Pop], rng: &mut Rng) -> Vec<f64> {
    let (n_pre, n_post) = (pops[link.pre].size, pops[link.post].size);
    let mut normal = || f(StandardNormal.sample(&mut *rng));
    let x: Vec<f64> = (0..n_pre).map(|_| normal()).collect();
    let y: Vec<f64> = (0..n_post).map(|_| normal()).collect();
    match &link.storage {
        Storage::Dense => x
            .iter()
            .flat_map(|&xi| y.iter().map(move |&yj| xi * yj))
            .collect(),
        Storage::Sparse { indptr, indices } => (0..n_pre)
            .flat_map(|i| (indptr[i]..indptr[i + 1]).map(move |k| (i, k)))
            .map(|(i, k)| x[i] * y[indices[k] as usize])
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::{Model, Net, Neuron, Params, PopKind, Seq, Surrogate, Trace};
    use crate::file::Reset;
    use crate::rng::stream;

    fn pop(name: &str, size: usize, kind: PopKind) -> Pop {
        Pop {
            name: name.into(),
            size,
            kind,
        }
    }

    /// in(3) → h(5, spiking) → out(2, non-spiking readout), dense; h → out is the noisy link.
    fn net() -> Net {
        let lif = |beta, reset, threshold| {
            PopKind::Neurons(Neuron {
                model: Model::Leaky { beta },
                reset,
                threshold,
            })
        };
        let link = |name: &str, pre, post| Link {
            name: name.into(),
            pre,
            post,
            recurrent: false,
            storage: Storage::Dense,
        };
        Net::new(
            vec![
                pop("in", 3, PopKind::Input),
                pop("h", 5, lif(0.8, Reset::Subtract, 0.5)),
                pop("out", 2, lif(0.3, Reset::NoReset, 1e9)),
            ],
            vec![link("in_h", 0, 1), link("h_out", 1, 2)],
            vec![2],
            Surrogate::Atan { alpha: 2.0 },
        )
        .unwrap()
    }

    /// L = Σ_t Σ_j c_j·mem_out(t, j) with weights `w`.
    fn loss(net: &Net, w: &[Vec<f64>], inputs: &[(u32, f64)], c: &[f64], tr: &mut Trace) -> f64 {
        let p = Params::weights(net, w.iter().map(|x| x.as_slice()).collect());
        net.forward(&p, 6, &[Seq::Constant(inputs)], tr);
        tr.pops[2]
            .mem
            .iter()
            .enumerate()
            .map(|(k, m)| c[k % 2] * m)
            .sum()
    }

    /// ∂L/∂μ = ∂L/∂w and ∂L/∂σ = ∂L/∂w ⊙ ε from the executor's backward pass agree with central
    /// finite differences of L in μ and σ (the noise held fixed), for every noisy weight.
    #[test]
    fn mu_and_sigma_gradients_match_finite_differences() {
        let n = net();
        let links = n.links().to_vec();
        let pops = n.pops().to_vec();
        let mu = vec![
            (0..15).map(|k| 0.9 - 0.11 * k as f64).collect::<Vec<_>>(),
            (0..10).map(|k| 0.3 - 0.07 * k as f64).collect::<Vec<_>>(),
        ];
        let mut nz = Noisy::new(vec![1], &links, &pops, 0.5, Vec::new());
        nz.sigma[0]
            .iter_mut()
            .enumerate()
            .for_each(|(k, s)| *s += 0.01 * k as f64);
        let eps = nz.draw(&links, &pops, &mut stream(7, "test", "", 0));
        let inputs = [(0, 1.2), (1, 0.4), (2, 0.9)];
        let c = [0.7, -1.3];
        let mut tr = Trace::default();
        let w = nz.apply(&mu, &nz.sigma, &eps);
        loss(&n, &w, &inputs, &c, &mut tr);
        let p = Params::weights(&n, w.iter().map(|x| x.as_slice()).collect());
        let mut g = crate::exec::Grads::zeros(&p);
        let g_mem: Vec<f64> = (0..6 * 2).map(|k| c[k % 2]).collect();
        n.backward(&p, &mut tr, &[&g_mem], &mut g);
        let h = 1e-6;
        let mut checked = 0;
        for k in 0..10 {
            let g_mu = g.weights[1][k];
            let g_sigma = g.weights[1][k] * eps[0][k];
            let fd = |mu: &[Vec<f64>], sigma: &[Vec<f64>]| {
                let mut t = Trace::default();
                loss(&n, &nz.apply(mu, sigma, &eps), &inputs, &c, &mut t)
            };
            let (mut up, mut down) = (mu.clone(), mu.clone());
            up[1][k] += h;
            down[1][k] -= h;
            let fd_mu = (fd(&up, &nz.sigma) - fd(&down, &nz.sigma)) / (2.0 * h);
            let (mut up, mut down) = (nz.sigma.clone(), nz.sigma.clone());
            up[0][k] += h;
            down[0][k] -= h;
            let fd_sigma = (fd(&mu, &up) - fd(&mu, &down)) / (2.0 * h);
            assert!((g_mu - fd_mu).abs() < 1e-6, "μ {k}: {g_mu} vs {fd_mu}");
            assert!(
                (g_sigma - fd_sigma).abs() < 1e-6,
                "σ {k}: {g_sigma} vs {fd_sigma}"
            );
            checked += usize::from(g_sigma.abs() > 1e-3);
        }
        assert!(checked >= 5, "most σ gradients are non-zero");
    }

    /// σ starts at σ₀/√fan_in; ε_ij = f(x_i)·f(y_j) has mean 0 and variance
    /// E[|x|]² = 2/π per entry, entries of one row share f(x_i) (rank one), and the draw is
    /// a function of the stream alone.
    #[test]
    fn noise_statistics_and_structure() {
        let n = net();
        let (links, pops) = (n.links().to_vec(), n.pops().to_vec());
        let nz = Noisy::new(vec![1], &links, &pops, 0.5, Vec::new());
        assert!(nz.sigma[0].iter().all(|&s| s == 0.5 / 5f64.sqrt()));
        assert_eq!(nz.sigma, nz.target);
        let (mut sum, mut sq, mut count) = (0.0, 0.0, 0.0);
        for u in 0..20_000 {
            let e = nz.draw(&links, &pops, &mut stream(3, "noise", "", u));
            let e = &e[0];
            assert_eq!(e.len(), 10);
            // Rank one: e[i][0]·e[j][1] = e[i][1]·e[j][0].
            assert!((e[0] * e[3] - e[1] * e[2]).abs() < 1e-12);
            for &x in e {
                sum += x;
                sq += x * x;
                count += 1.0;
            }
        }
        let mean = sum / count;
        let var = sq / count - mean * mean;
        let want = 2.0 / std::f64::consts::PI;
        // 200 000 entries (correlated within a draw): a loose 4σ-style bound.
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - want).abs() < 0.02, "variance {var} vs 2/π = {want}");
        let a = nz.draw(&links, &pops, &mut stream(3, "noise", "", 5));
        let b = nz.draw(&links, &pops, &mut stream(3, "noise", "", 5));
        assert_eq!(a, b);
    }
}
