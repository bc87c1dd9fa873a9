//! Validation: everything serde cannot check alone — names resolved, shapes and units checked,
//! delays against dt, probabilities in range. The result, [`Checked`], is the only input the
//! builder accepts.

use super::limits::*;
use super::rules::{self, ModelRules, ParamError, ParamResult};
use super::schema::*;
use super::Source;
use crate::error::Result;
use std::collections::{BTreeMap, BTreeSet};

/// Relative tolerance when comparing times with the time step (`0.1` ms is not exactly
/// representable, and `delay_ms: 0.1` with `dt_ms: 0.1` must be accepted).
const TIME_EPS: f64 = 1e-9;

/// A graph file that passed validation.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The file, unchanged.
    pub file: GraphFile,
    /// The text it came from, for the positions of errors found later (plugin parameters).
    pub source: Source,
}

impl Checked {
    /// Number of steps the run takes: round(duration / dt).
    pub fn steps(&self) -> u64 {
        steps_of_time(self.file.duration_ms, self.file.dt_ms)
    }
}

/// round(t / dt) as a step count.
pub fn steps_of_time(t_ms: f64, dt_ms: f64) -> u64 {
    (t_ms / dt_ms).round().max(0.0) as u64
}

struct V<'a> {
    src: &'a Source,
}

/// Whether a projection has zero delay (`delay_ms: Constant(0.0)`): delivered in the step of
/// the spike.
pub fn zero_delay(p: &ProjectionSpec) -> bool {
    matches!(p.delay_ms, Some(Init::Constant(x)) if x == 0.0)
}

/// Refuses a cycle of zero-delay projections (each population of it would need its input of
/// the same step from one updated after it), naming the projections of one such cycle.
fn zero_delay_cycles(v: &V, file: &GraphFile) -> Result<()> {
    let name = |i: usize| {
        let p = &file.projections[i];
        p.name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", p.pre, p.post))
    };
    // Out-edges by population: (projection index, post).
    let mut out: BTreeMap<&str, Vec<(usize, &str)>> = BTreeMap::new();
    for (i, p) in file.projections.iter().enumerate() {
        if zero_delay(p) {
            out.entry(&p.pre).or_default().push((i, &p.post));
        }
    }
    // Depth-first search with colours; `path` holds the projections from the root.
    #[derive(Clone, Copy, PartialEq)]
    enum C {
        White,
        Grey,
        Black,
    }
    let mut colour: BTreeMap<&str, C> = out.keys().map(|&k| (k, C::White)).collect();
    fn visit<'a>(
        at: &'a str,
        out: &BTreeMap<&'a str, Vec<(usize, &'a str)>>,
        colour: &mut BTreeMap<&'a str, C>,
        path: &mut Vec<(usize, &'a str)>,
    ) -> Option<Vec<usize>> {
        colour.insert(at, C::Grey);
        for &(i, post) in out.get(at).map_or(&[][..], |v| &v[..]) {
            match colour.get(post).copied().unwrap_or(C::White) {
                C::Grey => {
                    // The cycle: from the projection that left `post` on the path, to here.
                    let start = path
                        .iter()
                        .position(|&(_, pre)| pre == post)
                        .unwrap_or(path.len());
                    let mut cyc: Vec<usize> = path[start..].iter().map(|&(j, _)| j).collect();
                    cyc.push(i);
                    return Some(cyc);
                }
                C::White => {
                    path.push((i, at));
                    if let Some(c) = visit(post, out, colour, path) {
                        return Some(c);
                    }
                    path.pop();
                }
                C::Black => {}
            }
        }
        colour.insert(at, C::Black);
        None
    }
    let roots: Vec<&str> = out.keys().copied().collect();
    for root in roots {
        if colour.get(root) != Some(&C::White) {
            continue;
        }
        if let Some(cyc) = visit(root, &out, &mut colour, &mut Vec::new()) {
            let names: Vec<String> = cyc.iter().map(|&i| format!("`{}`", name(i))).collect();
            return v.fail(
                &format!("projections[{}].delay_ms", cyc[0]),
                format!(
                    "the zero-delay projections {} form a cycle: every cycle needs at least one projection with a delay of one step or more",
                    names.join(", ")
                ),
            );
        }
    }
    Ok(())
}

impl V<'_> {
    fn fail<T>(&self, field: &str, msg: impl Into<String>) -> Result<T> {
        Err(self.src.error_at(field, msg))
    }

    /// A check's error, placed at its field (relative to nothing: a full path).
    fn param(&self, r: ParamResult) -> Result<()> {
        r.map_err(|ParamError { field, msg }| self.src.error_at(&field, msg))
    }

    fn positive(&self, field: &str, x: f64) -> Result<()> {
        self.param(rules::positive(field, x))
    }

    fn non_negative(&self, field: &str, x: f64) -> Result<()> {
        self.param(rules::non_negative(field, x))
    }

    fn finite(&self, field: &str, x: f64) -> Result<()> {
        self.param(rules::finite(field, x))
    }

    fn index(&self, field: &str, i: usize, size: usize, what: &str) -> Result<()> {
        self.param(rules::index(field, i, size, what))
    }

    /// A time (already finite) that converts to at most [`MAX_STEPS`] steps of `dt`.
    fn steps(&self, field: &str, t_ms: f64, dt: f64) -> Result<()> {
        if t_ms / dt > MAX_STEPS as f64 {
            return self.fail(
                field,
                format!(
                    "{} ms is more than {MAX_STEPS} steps of dt = {} ms",
                    show(t_ms),
                    show(dt)
                ),
            );
        }
        Ok(())
    }
}

pub(super) fn validate(file: GraphFile, src: &Source, rules: &dyn ModelRules) -> Result<Checked> {
    let v = V { src };
    if file.format_version != FORMAT_VERSION {
        return v.fail(
            "format_version",
            format!(
                "format_version {} is not supported; this snnsim reads format_version {FORMAT_VERSION}",
                file.format_version
            ),
        );
    }
    v.positive("dt_ms", file.dt_ms)?;
    if file.dt_ms < MIN_DT_MS {
        return v.fail(
            "dt_ms",
            format!(
                "dt_ms must be at least {} ms, got {}",
                show(MIN_DT_MS),
                show(file.dt_ms)
            ),
        );
    }
    v.non_negative("duration_ms", file.duration_ms)?;
    let dt = file.dt_ms;
    if file.duration_ms / dt > MAX_STEPS as f64 {
        return v.fail(
            "duration_ms",
            format!(
                "the run would take {} steps of dt = {} ms; at most {MAX_STEPS}",
                show((file.duration_ms / dt).round()),
                show(dt)
            ),
        );
    }

    if file.populations.is_empty() {
        return v.fail("populations", "a graph needs at least one population");
    }
    let mut pops: BTreeMap<&str, &PopulationSpec> = BTreeMap::new();
    for (i, p) in file.populations.iter().enumerate() {
        let at = format!("populations[{i}]");
        if p.name.is_empty() {
            return v.fail(&format!("{at}.name"), "a population name must not be empty");
        }
        if pops.insert(&p.name, p).is_some() {
            return v.fail(
                &format!("{at}.name"),
                format!("population name `{}` is used twice", p.name),
            );
        }
        if p.size == 0 {
            return v.fail(
                &format!("{at}.size"),
                "a population needs at least one neuron",
            );
        }
        if p.size > MAX_POPULATION_SIZE {
            return v.fail(
                &format!("{at}.size"),
                "a population holds at most 2^32 − 1 neurons",
            );
        }
        v.param(
            rules
                .check(&p.model, p.size, dt)
                .map_err(|e| e.under(&format!("{at}.model"))),
        )?;
        let vars = rules.state_variables(&p.model);
        for (name, init) in &p.init {
            let f = format!("{at}.init.{name}");
            if !vars.contains(&name.as_str()) {
                return v.fail(
                    &f,
                    format!(
                        "`{name}` is not a state variable of this model (it has: {})",
                        if vars.is_empty() {
                            "none".to_string()
                        } else {
                            vars.join(", ")
                        }
                    ),
                );
            }
            check_init(&v, &f, init, false)?;
        }
        let allowed = rules.per_neuron(&p.model);
        for (name, values) in &p.params {
            let f = format!("{at}.params.{name}");
            if !allowed.contains(&name.as_str()) {
                return v.fail(
                    &f,
                    format!(
                        "`{name}` cannot be given per neuron for this model (per-neuron parameters: {})",
                        if allowed.is_empty() {
                            "none; Lif with integration: SnnTorch(...) and Synaptic take them".to_string()
                        } else {
                            allowed.join(", ")
                        }
                    ),
                );
            }
            if values.len() != p.size {
                return v.fail(
                    &f,
                    format!(
                        "{} values given, the population has {} neurons",
                        values.len(),
                        p.size
                    ),
                );
            }
            for (j, &x) in values.iter().enumerate() {
                v.param(
                    rules
                        .check_per_neuron(&p.model, name, x)
                        .map_err(|e| e.under(&format!("{f}[{j}]"))),
                )?;
            }
        }
        if p.learn_decay {
            check_learn_decay(&v, &format!("{at}.learn_decay"), p, file.task.as_ref())?;
        }
    }
    if let Some(out) = &file.output {
        if !pops.contains_key(out.as_str()) {
            return v.fail(
                "output",
                format!(
                    "unknown population `{out}` (known: {})",
                    pops.keys().copied().collect::<Vec<_>>().join(", ")
                ),
            );
        }
    }

    let pop_of = |field: &str, name: &str| -> Result<&PopulationSpec> {
        match pops.get(name) {
            Some(p) => Ok(*p),
            None => v.fail(
                field,
                format!(
                    "unknown population `{name}` (known: {})",
                    pops.keys().copied().collect::<Vec<_>>().join(", ")
                ),
            ),
        }
    };

    let mut proj_names = BTreeSet::new();
    for (i, pr) in file.projections.iter().enumerate() {
        let at = format!("projections[{i}]");
        let pre = pop_of(&format!("{at}.pre"), &pr.pre)?;
        let post = pop_of(&format!("{at}.post"), &pr.post)?;
        if !rules.has_receptors(&post.model) {
            return v.fail(
                &format!("{at}.post"),
                format!(
                    "`{}` is a spike source and cannot receive synapses",
                    post.name
                ),
            );
        }
        let name = pr
            .name
            .clone()
            .unwrap_or_else(|| format!("{}->{}", pr.pre, pr.post));
        if !proj_names.insert(name.clone()) {
            return v.fail(
                &format!("{at}.name"),
                format!("projection name `{name}` is used twice (name the projections to tell them apart)"),
            );
        }
        let autapses_matter = pr.pre == pr.post && !pr.allow_autapses;
        let candidates = pre.size - usize::from(autapses_matter);
        let c = format!("{at}.connectivity");
        match &pr.connectivity {
            Connectivity::AllToAll => {}
            Connectivity::OneToOne => {
                if pre.size != post.size {
                    return v.fail(
                        &c,
                        format!(
                            "OneToOne needs populations of equal size ({} has {}, {} has {})",
                            pre.name, pre.size, post.name, post.size
                        ),
                    );
                }
                if autapses_matter {
                    return v.fail(
                        &c,
                        "OneToOne from a population onto itself makes only autapses, \
                         but allow_autapses is false",
                    );
                }
            }
            Connectivity::FixedProbability { p } => {
                if !(0.0..=1.0).contains(p) {
                    return v.fail(
                        &format!("{c}.FixedProbability.p"),
                        format!("probability {p} is outside [0, 1]"),
                    );
                }
            }
            Connectivity::FixedInDegree { k } => {
                if *k > candidates {
                    return v.fail(
                        &format!("{c}.FixedInDegree.k"),
                        format!(
                            "in-degree {k} exceeds the {candidates} candidate presynaptic neurons"
                        ),
                    );
                }
            }
            Connectivity::List { pairs } => {
                let mut seen = BTreeSet::new();
                for (n, &(a, b)) in pairs.iter().enumerate() {
                    let f = format!("{c}.List.pairs[{n}]");
                    v.index(&f, a, pre.size, &format!("pre population `{}`", pre.name))?;
                    v.index(
                        &f,
                        b,
                        post.size,
                        &format!("post population `{}`", post.name),
                    )?;
                    if !seen.insert((a, b)) {
                        return v.fail(&f, format!("pair ({a}, {b}) is listed twice"));
                    }
                    if autapses_matter && a == b {
                        return v.fail(&f, "autapse listed while allow_autapses is false");
                    }
                }
            }
            conn @ (Connectivity::Conv2d { .. }
            | Connectivity::Conv1d { .. }
            | Connectivity::SumPool2d { .. }
            | Connectivity::AvgPool2d { .. }) => {
                let variant = match conn {
                    Connectivity::Conv2d { .. } => "Conv2d",
                    Connectivity::Conv1d { .. } => "Conv1d",
                    Connectivity::SumPool2d { .. } => "SumPool2d",
                    _ => "AvgPool2d",
                };
                let k = match conn.kernel().expect("a kernel connectivity") {
                    Ok(k) => k,
                    Err((field, msg)) => return v.fail(&format!("{c}.{variant}.{field}"), msg),
                };
                if let Connectivity::Conv2d { weights, .. } | Connectivity::Conv1d { weights, .. } =
                    conn
                {
                    for (j, w) in weights.iter().enumerate() {
                        v.finite(&format!("{c}.{variant}.weights[{j}]"), *w)?;
                    }
                }
                if k.n_pre() != pre.size {
                    return v.fail(
                        &format!("{c}.{variant}.input"),
                        format!(
                            "shape {:?} holds {} neurons, but the pre population `{}` has {}",
                            k.input,
                            k.n_pre(),
                            pre.name,
                            pre.size
                        ),
                    );
                }
                if k.n_post() != post.size {
                    return v.fail(
                        &c,
                        format!(
                            "the {variant} gives an output of shape {:?} = {} neurons, but the post population `{}` has {}",
                            k.output,
                            k.n_post(),
                            post.name,
                            post.size
                        ),
                    );
                }
                if let Some(r) = &pr.rule {
                    return v.fail(
                        &format!("{at}.rule"),
                        format!(
                            "a learning rule (`{}`) needs synapses of their own, but a {variant} shares one kernel over every position",
                            r.plugin
                        ),
                    );
                }
                if pr.pre == pr.post {
                    return v.fail(
                        &c,
                        format!(
                            "a {variant} joins two populations, not `{}` to itself",
                            pr.pre
                        ),
                    );
                }
                if let Some(d) = &pr.delay_ms {
                    if !matches!(d, Init::Constant(_)) {
                        return v.fail(
                            &format!("{at}.delay_ms"),
                            format!("a {variant} takes one delay for all connections (Constant)"),
                        );
                    }
                }
            }
            Connectivity::Chain { steps } => {
                if steps.len() < 2 {
                    return v.fail(
                        &format!("{c}.Chain.steps"),
                        format!(
                            "a chain takes at least two maps, not {} (one map is that connectivity itself)",
                            steps.len()
                        ),
                    );
                }
                if pr.pre == pr.post {
                    return v.fail(
                        &c,
                        format!("a Chain joins two populations, not `{}` to itself", pr.pre),
                    );
                }
                // Each step takes the values of the one before: the pre population's first.
                let mut n_in = pre.size;
                for (i, step) in steps.iter().enumerate() {
                    let f = format!("{c}.Chain.steps[{i}]");
                    let n_out = match step {
                        Connectivity::Dense { weights } => {
                            if weights.len() != n_in {
                                return v.fail(
                                    &format!("{f}.Dense.weights"),
                                    format!(
                                        "{} rows given, the step before gives {n_in} values",
                                        weights.len()
                                    ),
                                );
                            }
                            let n = weights.first().map_or(0, Vec::len);
                            for (r, row) in weights.iter().enumerate() {
                                let fr = format!("{f}.Dense.weights[{r}]");
                                if row.len() != n || n == 0 {
                                    return v.fail(
                                        &fr,
                                        format!(
                                            "{} columns given, row 0 has {n} (at least 1)",
                                            row.len()
                                        ),
                                    );
                                }
                                for (j, w) in row.iter().enumerate() {
                                    v.finite(&format!("{fr}[{j}]"), *w)?;
                                }
                            }
                            n
                        }
                        conn if conn.is_kernel() => {
                            let k = match conn.kernel().expect("a kernel connectivity") {
                                Ok(k) => k,
                                Err((field, msg)) => return v.fail(&format!("{f}.{field}"), msg),
                            };
                            if let Connectivity::Conv2d { weights, .. }
                            | Connectivity::Conv1d { weights, .. } = conn
                            {
                                for (j, w) in weights.iter().enumerate() {
                                    v.finite(&format!("{f}.weights[{j}]"), *w)?;
                                }
                            }
                            if k.n_pre() != n_in {
                                return v.fail(
                                    &format!("{f}.input"),
                                    format!(
                                        "shape {:?} holds {} values, the step before gives {n_in}",
                                        k.input,
                                        k.n_pre()
                                    ),
                                );
                            }
                            k.n_post()
                        }
                        _ => {
                            return v.fail(
                                &f,
                                "a chain's steps are Dense, Conv2d, Conv1d, SumPool2d or AvgPool2d",
                            )
                        }
                    };
                    n_in = n_out;
                }
                if n_in != post.size {
                    return v.fail(
                        &c,
                        format!(
                            "the chain gives {n_in} values, but the post population `{}` has {}",
                            post.name, post.size
                        ),
                    );
                }
            }
            Connectivity::Dense { weights } => {
                if weights.len() != pre.size {
                    return v.fail(
                        &format!("{c}.Dense.weights"),
                        format!(
                            "{} rows given, the pre population has {}",
                            weights.len(),
                            pre.size
                        ),
                    );
                }
                for (r, row) in weights.iter().enumerate() {
                    let f = format!("{c}.Dense.weights[{r}]");
                    if row.len() != post.size {
                        return v.fail(
                            &f,
                            format!(
                                "{} columns given, the post population has {}",
                                row.len(),
                                post.size
                            ),
                        );
                    }
                    for (j, w) in row.iter().enumerate() {
                        v.finite(&format!("{f}[{j}]"), *w)?;
                        if autapses_matter && r == j && *w != 0.0 {
                            return v.fail(
                                &format!("{f}[{j}]"),
                                "a non-zero diagonal entry is an autapse, but allow_autapses is false",
                            );
                        }
                    }
                }
            }
        }
        match (&pr.weight, &pr.connectivity) {
            (Some(_), Connectivity::Dense { .. }) => {
                return v.fail(
                    &format!("{at}.weight"),
                    "Dense connectivity carries its own weights; remove `weight`",
                )
            }
            (Some(_), Connectivity::Chain { .. }) => {
                return v.fail(
                    &format!("{at}.weight"),
                    "a Chain carries its own weights; remove `weight`",
                )
            }
            (None, Connectivity::Chain { .. }) => {}
            (Some(_), conn) if conn.is_kernel() => return v.fail(
                &format!("{at}.weight"),
                "a convolution or pooling connectivity carries its own weights; remove `weight`",
            ),
            (None, Connectivity::Dense { .. }) => {}
            (None, conn) if conn.is_kernel() => {}
            (None, _) => return v.fail(&at, "missing field `weight`"),
            (Some(w), _) => check_init(&v, &format!("{at}.weight"), w, true)?,
        }
        if let Some(r) = &pr.rule {
            if r.plugin.trim().is_empty() {
                return v.fail(
                    &format!("{at}.rule.plugin"),
                    "a plugin name must not be empty",
                );
            }
        }
        if let Some(d) = &pr.delay_ms {
            let f = format!("{at}.delay_ms");
            let min = dt * (1.0 - TIME_EPS);
            match d {
                Init::Constant(x) => {
                    v.finite(&f, *x)?;
                    if *x < min && *x != 0.0 {
                        return v.fail(
                            &f,
                            format!("delay {x} ms is shorter than the time step dt = {dt} ms (0 is a zero-delay projection, felt in the same step)"),
                        );
                    }
                }
                Init::Uniform { low, high } => {
                    check_init(&v, &f, d, false)?;
                    if *low < min {
                        return v.fail(
                            &format!("{f}.Uniform.low"),
                            format!("delay {low} ms is shorter than the time step dt = {dt} ms"),
                        );
                    }
                    if steps_of_time(*high, dt) > MAX_DELAY_STEPS {
                        return v.fail(&f, "delays are limited to 65 535 steps");
                    }
                }
                _ => return v.fail(&f, "delays take Constant or Uniform"),
            }
            if matches!(pre.model, ModelSpec::Values(_) | ModelSpec::SigmaDelta(_))
                && !matches!(d, Init::Constant(_))
            {
                let kind = if matches!(pre.model, ModelSpec::Values(_)) {
                    "Values"
                } else {
                    "SigmaDelta"
                };
                return v.fail(
                    &f,
                    format!(
                        "a projection from the {kind} population `{}` takes one delay for all synapses (Constant)",
                        pre.name
                    ),
                );
            }
            if let Init::Constant(x) = d {
                if steps_of_time(*x, dt) > MAX_DELAY_STEPS {
                    return v.fail(&f, "delays are limited to 65 535 steps");
                }
            }
        }
    }

    zero_delay_cycles(&v, &file)?;

    for (i, s) in file.stimuli.iter().enumerate() {
        let (kind, target, start_ms, stop_ms, neurons) = match s {
            StimulusSpec::Dc {
                target,
                amplitude_na,
                start_ms,
                stop_ms,
                neurons,
            } => {
                v.finite(&format!("stimuli[{i}].Dc.amplitude_na"), *amplitude_na)?;
                ("Dc", target, start_ms, stop_ms, neurons)
            }
            StimulusSpec::PoissonInput {
                target,
                rate_hz,
                weight,
                start_ms,
                stop_ms,
                neurons,
                ..
            } => {
                let at = format!("stimuli[{i}].PoissonInput");
                v.non_negative(&format!("{at}.rate_hz"), *rate_hz)?;
                v.finite(&format!("{at}.weight"), *weight)?;
                // k ~ Poisson(rate·dt) is drawn by inversion, which needs a modest mean.
                if rate_hz * dt / 1000.0 > MAX_POISSON_MEAN {
                    return v.fail(
                        &format!("{at}.rate_hz"),
                        format!(
                            "{rate_hz} Hz is {} spikes per step of {dt} ms; at most {MAX_POISSON_MEAN} per step (use several stimuli)",
                            rate_hz * dt / 1000.0
                        ),
                    );
                }
                ("PoissonInput", target, start_ms, stop_ms, neurons)
            }
        };
        let at = format!("stimuli[{i}].{kind}");
        let p = pop_of(&format!("{at}.target"), target)?;
        if !rules.has_receptors(&p.model) {
            return v.fail(
                &format!("{at}.target"),
                format!("`{target}` is a spike source; a stimulus needs a neuron model"),
            );
        }
        v.non_negative(&format!("{at}.start_ms"), *start_ms)?;
        v.steps(&format!("{at}.start_ms"), *start_ms, dt)?;
        if let Some(stop) = stop_ms {
            v.finite(&format!("{at}.stop_ms"), *stop)?;
            if stop < start_ms {
                return v.fail(&format!("{at}.stop_ms"), "stop_ms is before start_ms");
            }
            v.steps(&format!("{at}.stop_ms"), *stop, dt)?;
        }
        let mut seen = BTreeSet::new();
        for (n, &j) in neurons.iter().flatten().enumerate() {
            if !seen.insert(j) {
                return v.fail(
                    &format!("{at}.neurons[{n}]"),
                    format!("neuron {j} is listed twice"),
                );
            }
            v.index(
                &format!("{at}.neurons[{n}]"),
                j,
                p.size,
                &format!("`{target}`"),
            )?;
        }
    }

    for (i, st) in file.structure.iter().enumerate() {
        let at = format!("structure[{i}]");
        match &file.task {
            None => {}
            Some(TaskSpec::Reservoir(r)) if r.develop > 0 => {}
            Some(TaskSpec::Reservoir(_)) => {
                return v.fail(
                    &at,
                    "a reservoir task's structural policies act during its `develop` samples: give task.Reservoir.develop above 0",
                );
            }
            Some(_) => {
                return v.fail(
                    &at,
                    "a training task's structural policy goes in its task's `structure`; this list is for simulations",
                );
            }
        }
        if st.populations.is_empty() {
            return v.fail(&format!("{at}.populations"), "name at least one population");
        }
        let mut seen = BTreeSet::new();
        for (k, name) in st.populations.iter().enumerate() {
            let f = format!("{at}.populations[{k}]");
            pop_of(&f, name)?;
            if !seen.insert(name) {
                return v.fail(&f, format!("`{name}` is listed twice"));
            }
            // A kernel fixes the shapes of the maps it reads and writes and has no synapses
            // of its own to grow or prune.
            if let Some(pr) = file
                .projections
                .iter()
                .find(|p| p.connectivity.is_kernel() && (&p.pre == name || &p.post == name))
            {
                let kind = format!("{:?}", pr.connectivity);
                return v.fail(
                    &f,
                    format!(
                        "`{name}` is a map of the {} projection `{}`, whose shared kernel fixes its size and has no synapses to grow or prune; a structural policy cannot change it",
                        kind.split([' ', '{', '(']).next().unwrap_or("kernel"),
                        pr.name.clone().unwrap_or_else(|| format!("{}->{}", pr.pre, pr.post))
                    ),
                );
            }
        }
        let f = format!("{at}.every_ms");
        v.finite(&f, st.every_ms)?;
        if st.every_ms < dt {
            return v.fail(
                &f,
                format!("every_ms is shorter than the time step dt = {dt} ms"),
            );
        }
        v.steps(&f, st.every_ms, dt)?;
    }

    let mut recorded = BTreeSet::new();
    let mut state_recorded = BTreeSet::new();
    let mut weights_recorded = BTreeSet::new();
    for (i, r) in file.recorders.iter().enumerate() {
        match r {
            RecorderSpec::Weights { projection } => {
                let f = format!("recorders[{i}].Weights.projection");
                if !proj_names.contains(projection) {
                    return v.fail(
                        &f,
                        format!(
                            "unknown projection `{projection}` (known: {})",
                            proj_names.iter().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    );
                }
                if !weights_recorded.insert(projection.clone()) {
                    return v.fail(&f, format!("weights of `{projection}` are recorded twice"));
                }
            }
            RecorderSpec::Spikes { population } => {
                let f = format!("recorders[{i}].Spikes.population");
                pop_of(&f, population)?;
                if !recorded.insert(population.clone()) {
                    return v.fail(&f, format!("spikes of `{population}` are recorded twice"));
                }
            }
            RecorderSpec::State {
                population,
                variables,
                neurons,
                every_ms,
            } => {
                let at = format!("recorders[{i}].State");
                let p = pop_of(&format!("{at}.population"), population)?;
                if !state_recorded.insert(population.clone()) {
                    return v.fail(
                        &format!("{at}.population"),
                        format!("the state of `{population}` is recorded twice (list all variables in one recorder)"),
                    );
                }
                if variables.is_empty() {
                    return v.fail(&format!("{at}.variables"), "no variable to record");
                }
                let mut seen = BTreeSet::new();
                for (n, &j) in neurons.iter().enumerate() {
                    if !seen.insert(j) {
                        return v.fail(
                            &format!("{at}.neurons[{n}]"),
                            format!("neuron {j} is listed twice"),
                        );
                    }
                }
                let vars = rules.state_variables(&p.model);
                for (n, name) in variables.iter().enumerate() {
                    if !vars.contains(&name.as_str()) {
                        return v.fail(
                            &format!("{at}.variables[{n}]"),
                            format!("`{population}` has no state variable `{name}`"),
                        );
                    }
                }
                for (n, &j) in neurons.iter().enumerate() {
                    v.index(
                        &format!("{at}.neurons[{n}]"),
                        j,
                        p.size,
                        &format!("`{population}`"),
                    )?;
                }
                if let Some(e) = every_ms {
                    if !(e.is_finite() && *e >= dt * (1.0 - TIME_EPS)) {
                        return v.fail(
                            &format!("{at}.every_ms"),
                            format!("sampling interval {e} ms is shorter than dt = {dt} ms"),
                        );
                    }
                    v.steps(&format!("{at}.every_ms"), *e, dt)?;
                }
            }
        }
    }
    match &file.task {
        Some(TaskSpec::Agent(a)) => check_agent(&v, a, &file, "task.Agent")?,
        Some(TaskSpec::Control(a)) => check_agent(&v, a, &file, "task.Control")?,
        Some(TaskSpec::Reservoir(r)) => check_reservoir(&v, r, &file)?,
        Some(TaskSpec::Classify(c)) => check_classify(&v, c, &file)?,
        None => {}
    }
    Ok(Checked {
        file,
        source: src.clone(),
    })
}

/// Checks an initialiser's own parameters. `fan` says whether fan-based initialisers (Kaiming,
/// Xavier) make sense here: they do for weights, not for state variables or delays.
fn check_init(v: &V, at: &str, init: &Init, fan: bool) -> Result<()> {
    match init {
        Init::Constant(x) => v.finite(&format!("{at}.Constant"), *x),
        Init::Uniform { low, high } => {
            v.finite(&format!("{at}.Uniform.low"), *low)?;
            v.finite(&format!("{at}.Uniform.high"), *high)?;
            if high < low {
                return v.fail(&format!("{at}.Uniform.high"), "high is below low");
            }
            Ok(())
        }
        Init::Normal { mean, std } => {
            v.finite(&format!("{at}.Normal.mean"), *mean)?;
            v.non_negative(&format!("{at}.Normal.std"), *std)
        }
        Init::KaimingNormal { gain }
        | Init::KaimingUniform { gain }
        | Init::XavierNormal { gain }
        | Init::XavierUniform { gain } => {
            if !fan {
                return v.fail(
                    at,
                    "Kaiming and Xavier initialisers need a fan-in and apply to weights only",
                );
            }
            if let Some(g) = gain {
                v.non_negative(at, *g)?;
            }
            Ok(())
        }
    }
}

/// A classification task's populations match its dataset and cover the file, and its
/// settings can train. Whether the hidden and readout models can be trained is the
/// executor's to say (the trainer reports it at `hidden` or `readout`).
fn check_classify(v: &V, c: &ClassifySpec, file: &GraphFile) -> Result<()> {
    let at = "task.Classify";
    let (features, classes) = match &c.dataset {
        DatasetSpec::Digits(d) => {
            if d.path.as_deref() == Some("") {
                return v.fail(&format!("{at}.dataset.Digits.path"), "is empty");
            }
            (64, 10)
        }
        DatasetSpec::YinYang(y) => {
            let f = |name: &str| format!("{at}.dataset.YinYang.{name}");
            if y.train == 0 || y.test == 0 || y.train.saturating_add(y.test) > 10_000_000 {
                let name = if y.train == 0 { "train" } else { "test" };
                return v.fail(
                    &f(name),
                    "give at least 1 training and 1 test sample, 10 000 000 in all at most",
                );
            }
            if !(y.r_big > 0.0 && y.r_big <= 0.5) {
                return v.fail(&f("r_big"), format!("{} is outside (0, 0.5]", y.r_big));
            }
            if !(y.r_small > 0.0 && y.r_small < 0.5 * y.r_big) {
                return v.fail(
                    &f("r_small"),
                    format!(
                        "{} is outside (0, r_big/2) (the dots lie within the halves of the figure)",
                        y.r_small
                    ),
                );
            }
            if c.samples.is_some() {
                return v.fail(
                    &format!("{at}.samples"),
                    "YinYang sets its own sizes: give `train` and `test` in YinYang(...) instead",
                );
            }
            // (x, y, 1 − x, 1 − y); two halves and the dots.
            (4, 3)
        }
        DatasetSpec::NMnist(e) | DatasetSpec::Shd(e) => {
            let (name, sizes) = match &c.dataset {
                DatasetSpec::NMnist(_) => ("NMnist", (2 * 34 * 34, 10)),
                _ => ("Shd", (700, 20)),
            };
            if e.path.is_empty() {
                return v.fail(&format!("{at}.dataset.{name}.path"), "is empty");
            }
            for (f, n) in [("train", e.train), ("test", e.test)] {
                if n == Some(0) {
                    return v.fail(&format!("{at}.dataset.{name}.{f}"), "must be at least 1");
                }
            }
            if c.samples.is_some() {
                return v.fail(
                    &format!("{at}.samples"),
                    format!(
                        "{name} has its own split: give `train` and `test` in {name}(...) instead"
                    ),
                );
            }
            if !matches!(c.encoder, SpikeEncoder::Events { .. }) {
                return v.fail(
                    &format!("{at}.encoder"),
                    format!("{name}'s samples are events: use `Events(bin_ms: ...)`"),
                );
            }
            sizes
        }
    };
    let find = |name: &str| file.populations.iter().find(|p| p.name == name);
    match find(&c.input) {
        None => {
            return v.fail(
                &format!("{at}.input"),
                format!("unknown population `{}`", c.input),
            )
        }
        Some(p) if !matches!(&p.model, ModelSpec::Values(x) if x.constant.is_none()) => {
            return v.fail(
                &format!("{at}.input"),
                format!(
                    "`{}` must be a `Values` population without `constant` (the encoder feeds its neurons)",
                    c.input
                ),
            )
        }
        Some(p) if p.size != features => {
            return v.fail(
                &format!("{at}.input"),
                format!(
                    "`{}` has {} neurons but the dataset has {features} features (one neuron each)",
                    c.input, p.size
                ),
            )
        }
        Some(_) => {}
    }
    match find(&c.readout) {
        None => {
            return v.fail(
                &format!("{at}.readout"),
                format!("unknown population `{}`", c.readout),
            )
        }
        Some(p) if p.size != classes => {
            return v.fail(
                &format!("{at}.readout"),
                format!(
                    "`{}` has {} neurons but the dataset has {classes} classes (one neuron each)",
                    c.readout, p.size
                ),
            )
        }
        Some(_) => {}
    }
    let mut seen = BTreeSet::from([c.input.as_str(), c.readout.as_str()]);
    if c.input == c.readout {
        return v.fail(&format!("{at}.readout"), "the readout cannot be the input");
    }
    for (k, name) in c.hidden.iter().enumerate() {
        let field = format!("{at}.hidden[{k}]");
        if find(name).is_none() {
            return v.fail(&field, format!("unknown population `{name}`"));
        }
        if !seen.insert(name.as_str()) {
            return v.fail(
                &field,
                format!("`{name}` is listed twice or is the input or the readout"),
            );
        }
    }
    if let Some(k) = file
        .populations
        .iter()
        .position(|p| !seen.contains(p.name.as_str()))
    {
        return v.fail(
            &format!("populations[{k}]"),
            format!(
                "`{}` is neither the task's input, a hidden population nor its readout (every population of a classification task is trained or fed)",
                file.populations[k].name
            ),
        );
    }
    if c.steps == 0 || c.steps > MAX_DECISION_STEPS {
        return v.fail(
            &format!("{at}.steps"),
            format!("give from 1 to {MAX_DECISION_STEPS} steps per sample"),
        );
    }
    match &c.encoder {
        SpikeEncoder::Latency { window, threshold } => {
            if *window == 0 || *window > c.steps {
                return v.fail(
                    &format!("{at}.encoder.Latency.window"),
                    format!("give from 1 to `steps` ({}) steps", c.steps),
                );
            }
            if !(0.0..1.0).contains(threshold) {
                return v.fail(
                    &format!("{at}.encoder.Latency.threshold"),
                    format!("{threshold} is outside [0, 1)"),
                );
            }
        }
        SpikeEncoder::Events { bin_ms } => {
            if !matches!(c.dataset, DatasetSpec::NMnist(_) | DatasetSpec::Shd(_)) {
                return v.fail(
                    &format!("{at}.encoder"),
                    "`Events` bins the events of an event dataset (NMnist, Shd); use Latency or Rate",
                );
            }
            if let Some(b) = bin_ms {
                if !(b.is_finite() && *b > 0.0) {
                    return v.fail(
                        &format!("{at}.encoder.Events.bin_ms"),
                        format!("{b} must be > 0"),
                    );
                }
            }
        }
        SpikeEncoder::Rate { max_probability } => {
            if !(*max_probability > 0.0 && *max_probability <= 1.0) {
                return v.fail(
                    &format!("{at}.encoder.Rate.max_probability"),
                    format!("{max_probability} is outside (0, 1]"),
                );
            }
        }
    }
    if c.epochs == 0 || c.epochs > 1_000_000 {
        return v.fail(&format!("{at}.epochs"), "give from 1 to 1 000 000 epochs");
    }
    if c.batch == 0 {
        return v.fail(&format!("{at}.batch"), "must be at least 1");
    }
    if !(c.lr.is_finite() && c.lr > 0.0) {
        return v.fail(&format!("{at}.lr"), format!("{} must be > 0", c.lr));
    }
    if let Some(r) = &c.spike_regularizer {
        if !(r.strength.is_finite() && r.strength >= 0.0) {
            return v.fail(
                &format!("{at}.spike_regularizer.strength"),
                format!("{} must be finite and ≥ 0", r.strength),
            );
        }
        if !(r.target.is_finite() && r.target >= 0.0) {
            return v.fail(
                &format!("{at}.spike_regularizer.target"),
                format!("{} must be finite and ≥ 0 (spikes per sample)", r.target),
            );
        }
    }
    match c.lr_schedule {
        LrSchedule::Fixed => {}
        LrSchedule::Cosine { final_lr } => {
            if !(0.0..=c.lr).contains(&final_lr) {
                return v.fail(
                    &format!("{at}.lr_schedule.Cosine.final_lr"),
                    format!("{final_lr} is outside [0, lr = {}]", c.lr),
                );
            }
        }
        LrSchedule::Step { every, factor } => {
            if every == 0 {
                return v.fail(
                    &format!("{at}.lr_schedule.Step.every"),
                    "must be at least 1",
                );
            }
            if !(factor > 0.0 && factor <= 1.0) {
                return v.fail(
                    &format!("{at}.lr_schedule.Step.factor"),
                    format!("{factor} is outside (0, 1]"),
                );
            }
        }
    }
    if !(c.test_fraction > 0.0 && c.test_fraction < 1.0) {
        return v.fail(
            &format!("{at}.test_fraction"),
            format!("{} is outside (0, 1)", c.test_fraction),
        );
    }
    if let Some(n) = c.samples {
        let test = (n as f64 * c.test_fraction).round() as usize;
        if test == 0 || test >= n {
            return v.fail(
                &format!("{at}.samples"),
                format!(
                    "{n} samples leave no training or no test sample at test_fraction {}",
                    c.test_fraction
                ),
            );
        }
    }
    v.positive(&format!("{at}.surrogate"), surrogate_scale(&c.surrogate))
}

/// The slope or α of a surrogate.
fn surrogate_scale(s: &Surrogate) -> f64 {
    match *s {
        Surrogate::FastSigmoid { slope } | Surrogate::Sigmoid { slope } => slope,
        Surrogate::Atan { alpha } => alpha,
    }
}

/// The agent's populations and projections have the shapes its runtime needs.
fn check_reservoir(v: &V, r: &ReservoirSpec, file: &GraphFile) -> Result<()> {
    let at = "task.Reservoir";
    let find = |name: &str| file.populations.iter().find(|p| p.name == name);
    match find(&r.input) {
        None => {
            return v.fail(
                &format!("{at}.input"),
                format!("unknown population `{}`", r.input),
            )
        }
        Some(p) if !matches!(&p.model, ModelSpec::Values(c) if c.constant.is_none()) => {
            return v.fail(
                &format!("{at}.input"),
                format!(
                    "`{}` must be a `Values` population without `constant` (the signal feeds each of its neurons)",
                    r.input
                ),
            )
        }
        Some(_) => {}
    }
    if r.reservoir.is_empty() {
        return v.fail(
            &format!("{at}.reservoir"),
            "name at least one population whose spikes are the features",
        );
    }
    let mut seen = BTreeSet::new();
    for (k, name) in r.reservoir.iter().enumerate() {
        let field = format!("{at}.reservoir[{k}]");
        match find(name) {
            None => return v.fail(&field, format!("unknown population `{name}`")),
            Some(p) if matches!(p.model, ModelSpec::Values(_)) => {
                return v.fail(
                    &field,
                    format!("`{name}` is a `Values` population, which never spikes"),
                )
            }
            Some(_) => {}
        }
        if !seen.insert(name.as_str()) {
            return v.fail(&field, format!("`{name}` is listed twice"));
        }
    }
    if r.steps_per_sample == 0 {
        return v.fail(&format!("{at}.steps_per_sample"), "must be at least 1");
    }
    if r.feature_tau_ms.is_empty() || r.feature_tau_ms.len() > 16 {
        return v.fail(
            &format!("{at}.feature_tau_ms"),
            "give from 1 to 16 time constants",
        );
    }
    for (k, &t) in r.feature_tau_ms.iter().enumerate() {
        v.positive(&format!("{at}.feature_tau_ms[{k}]"), t)?;
    }
    v.finite(&format!("{at}.input_scale"), r.input_scale)?;
    v.finite(&format!("{at}.input_offset"), r.input_offset)?;
    if r.train < 5 {
        return v.fail(
            &format!("{at}.train"),
            "at least 5 samples (the last fifth chooses the ridge penalty)",
        );
    }
    if r.test < 2 {
        return v.fail(&format!("{at}.test"), "at least 2 samples");
    }
    let samples = r.develop as u128 + r.washout as u128 + r.train as u128 + r.test as u128;
    if samples * r.steps_per_sample as u128 > MAX_STEPS as u128 {
        return v.fail(
            &format!("{at}.train"),
            format!(
                "{samples} samples of {} steps are more than {MAX_STEPS} steps",
                r.steps_per_sample
            ),
        );
    }
    if r.ridge.is_empty() {
        return v.fail(&format!("{at}.ridge"), "give at least one penalty");
    }
    for (k, &l) in r.ridge.iter().enumerate() {
        v.non_negative(&format!("{at}.ridge[{k}]"), l)?;
    }
    if r.delay_line == 0 {
        return v.fail(&format!("{at}.delay_line"), "must be at least 1");
    }
    match &r.signal {
        SignalSpec::Narma10(NarmaParams { low, high }) => {
            let f = format!("{at}.signal.Narma10");
            v.finite(&format!("{f}.low"), *low)?;
            v.finite(&format!("{f}.high"), *high)?;
            if high < low {
                return v.fail(&format!("{f}.high"), "high is below low");
            }
        }
        SignalSpec::MackeyGlass(MackeyGlassParams {
            tau,
            beta,
            gamma,
            n,
            sample_every,
            horizon,
        }) => {
            let f = format!("{at}.signal.MackeyGlass");
            v.positive(&format!("{f}.tau"), *tau)?;
            v.finite(&format!("{f}.beta"), *beta)?;
            v.finite(&format!("{f}.gamma"), *gamma)?;
            v.finite(&format!("{f}.n"), *n)?;
            v.positive(&format!("{f}.sample_every"), *sample_every)?;
            if *sample_every > 1e3 || *tau > 1e6 {
                return v.fail(
                    &format!("{f}.sample_every"),
                    "sample_every up to 1000 and tau up to 1e6 time units",
                );
            }
            if *horizon == 0 || *horizon > 1_000_000 {
                return v.fail(&format!("{f}.horizon"), "from 1 to 1 000 000 samples");
            }
        }
    }
    Ok(())
}

fn check_agent(v: &V, a: &AgentSpec, file: &GraphFile, at: &str) -> Result<()> {
    check_control(v, a, at)?;
    let pop = |field: &str, name: &str| -> Result<&PopulationSpec> {
        match file.populations.iter().find(|p| p.name == name) {
            Some(p) => Ok(p),
            None => v.fail(
                &format!("{at}.{field}"),
                format!("unknown population `{name}`"),
            ),
        }
    };
    let input = pop("input", &a.input)?;
    let hidden = pop("hidden", &a.hidden)?;
    let readout = pop("readout", &a.readout)?;
    if !matches!(input.model, ModelSpec::Observation(_)) {
        return v.fail(
            &format!("{at}.input"),
            "the input population must be an `Observation` source",
        );
    }
    let snn_lif = |m: &ModelSpec| {
        matches!(
            m,
            ModelSpec::Lif(LifParams {
                integration: LifIntegration::SnnTorch { .. },
                ..
            })
        )
    };
    let alpha_ok = at == "task.Control"
        && matches!(&hidden.model, ModelSpec::Alpha(p) if p.reset != Reset::Subtract);
    if !(matches!(hidden.model, ModelSpec::Synaptic(_)) || snn_lif(&hidden.model) || alpha_ok) {
        return v.fail(
            &format!("{at}.hidden"),
            "the hidden population must be `Synaptic` or `Lif` with `integration: SnnTorch(...)` (or, in a `Control` task, `Alpha` with reset Zero or NoReset)",
        );
    }
    let readout_ok = matches!(
        &readout.model,
        ModelSpec::Lif(LifParams {
            integration: LifIntegration::SnnTorch {
                reset: Reset::NoReset,
                ..
            },
            ..
        })
    );
    if !readout_ok {
        return v.fail(
            &format!("{at}.readout"),
            "the readout population must be `Lif` with `integration: SnnTorch(reset: NoReset)`",
        );
    }
    // The input projection may be sparse (its gradient runs over its CSR synapses, and a
    // structural policy may rewire it); the readout's factored gradient takes a dense h × o
    // matrix, so it stays all-to-all.
    // An off-policy agent's hidden layers are any feed-forward chain from `hidden` to the
    // readout (the executor runs it whole), so only its input projection is fixed here.
    let pairs = [(&a.input, &a.hidden, true), (&a.hidden, &a.readout, false)];
    let pairs = &pairs[..if a.off_policy.is_some() { 1 } else { 2 }];
    if let Some(op) = &a.off_policy {
        check_off_policy(v, a, op, file, at)?;
    }
    for &(pre, post, sparse_ok) in pairs {
        let found: Vec<&ProjectionSpec> = file
            .projections
            .iter()
            .filter(|p| &p.pre == pre && &p.post == post)
            .collect();
        if found.len() != 1 {
            let kind = if sparse_ok { "" } else { "AllToAll " };
            return v.fail(
                at,
                format!("the agent needs exactly one {kind}projection from `{pre}` to `{post}`"),
            );
        }
        let ok = match &found[0].connectivity {
            Connectivity::AllToAll => true,
            Connectivity::FixedProbability { .. }
            | Connectivity::FixedInDegree { .. }
            | Connectivity::List { .. } => sparse_ok,
            Connectivity::OneToOne
            | Connectivity::Dense { .. }
            | Connectivity::Chain { .. }
            | Connectivity::Conv2d { .. }
            | Connectivity::Conv1d { .. }
            | Connectivity::SumPool2d { .. }
            | Connectivity::AvgPool2d { .. } => false,
        };
        if !ok {
            let want = if sparse_ok {
                "AllToAll, FixedProbability, FixedInDegree or List"
            } else {
                "AllToAll"
            };
            return v.fail(
                at,
                format!("the agent's projection from `{pre}` to `{post}` must be {want}"),
            );
        }
    }
    if a.decision_steps == 0 {
        return v.fail(
            &format!("{at}.decision_steps"),
            "at least one step per decision",
        );
    }
    if a.decision_steps > MAX_DECISION_STEPS {
        return v.fail(
            &format!("{at}.decision_steps"),
            format!("at most {MAX_DECISION_STEPS} steps per decision"),
        );
    }
    if a.batch == 0 {
        return v.fail(&format!("{at}.batch"), "at least one episode per batch");
    }
    if a.episodes as u128 * a.decision_steps as u128 > MAX_STEPS as u128 {
        return v.fail(
            &format!("{at}.episodes"),
            format!(
                "{} episodes of at least {} steps each are more than {MAX_STEPS} steps",
                a.episodes, a.decision_steps
            ),
        );
    }
    if !(a.entropy_coef.is_finite() && a.entropy_coef >= 0.0) {
        return v.fail(
            &format!("{at}.entropy_coef"),
            "must be a finite number >= 0",
        );
    }
    if let Some(s) = &a.structure {
        let sat = format!("{at}.structure");
        if s.plugin.is_some() {
            if !s.rate_fields_are_default() {
                return v.fail(
                    &sat,
                    "with `plugin`, the policy's parameters go in `params` (the other fields are those of the default policy, `rate_threshold`)",
                );
            }
            return Ok(());
        }
        if s.params.is_some() || s.path.is_some() {
            return v.fail(
                &format!("{sat}.plugin"),
                "`params` and `path` need `plugin`",
            );
        }
        if s.grow_interval == 0 || s.prune_interval == 0 {
            return v.fail(&sat, "check intervals must be at least one episode");
        }
        for (f, x) in [
            ("grow_threshold", s.grow_threshold),
            ("prune_threshold", s.prune_threshold),
            ("new_input_noise_std", s.new_input_noise_std),
        ] {
            v.non_negative(&format!("{sat}.{f}"), x)?;
        }
        if !(0.0..=1.0).contains(&s.prune_fraction) {
            return v.fail(&format!("{sat}.prune_fraction"), "must be in [0, 1]");
        }
        if s.min_hidden == 0 || s.min_hidden > s.max_hidden {
            return v.fail(
                &format!("{sat}.min_hidden"),
                "need 1 <= min_hidden <= max_hidden",
            );
        }
        if s.max_hidden > MAX_POPULATION_SIZE {
            return v.fail(
                &format!("{sat}.max_hidden"),
                format!("a population holds at most {MAX_POPULATION_SIZE} neurons"),
            );
        }
        if hidden.size > s.max_hidden {
            return v.fail(
                &format!("{sat}.max_hidden"),
                "the hidden population starts above max_hidden",
            );
        }
    }
    Ok(())
}

/// The encoder, decoder and critic settings: continuous encoders, Gaussian decoders and critics
/// belong to `Control` tasks, and their numbers must make sense.
/// The numbers of an off-policy task, each named by its field.
fn check_off_policy(
    v: &V,
    a: &AgentSpec,
    op: &OffPolicySpec,
    file: &GraphFile,
    at: &str,
) -> Result<()> {
    let f = |field: &str| format!("{at}.off_policy.{field}");
    if at != "task.Control" {
        return v.fail(
            &f("env_steps"),
            "off-policy training needs a `Control` task",
        );
    }
    if a.critic || a.decoder != Decoder::Categorical {
        return v.fail(
            at,
            "an off-policy agent reads Q-values from its readout: no `critic`, the `Categorical` decoder",
        );
    }
    for (name, x) in [
        ("env_steps", op.env_steps),
        ("train_every", op.train_every),
        ("target_every", op.target_every),
        ("epsilon.steps", op.epsilon.steps),
    ] {
        if x == 0 {
            return v.fail(&f(name), "must be at least 1");
        }
    }
    if op.env_steps.saturating_mul(a.decision_steps as u64) > MAX_STEPS {
        return v.fail(
            &f("env_steps"),
            format!(
                "{} decisions of {} steps are more than {MAX_STEPS} steps",
                op.env_steps, a.decision_steps
            ),
        );
    }
    if op.batch == 0 || op.buffer < op.batch {
        return v.fail(&f("batch"), "at least 1, and no more than `buffer`");
    }
    if op.n_step == 0 || op.n_step > 1000 {
        return v.fail(&f("n_step"), "between 1 and 1000");
    }
    let unit = |x: f64| (0.0..=1.0).contains(&x);
    if !(unit(op.epsilon.start) && unit(op.epsilon.end)) {
        return v.fail(&f("epsilon"), "`start` and `end` in [0, 1]");
    }
    if let Some(t) = op.tau {
        if !(t > 0.0 && t <= 1.0) {
            return v.fail(&f("tau"), "in (0, 1]");
        }
    }
    if let Some(d) = &op.distributional {
        if d.atoms < 2 || d.atoms > 1000 {
            return v.fail(&f("distributional.atoms"), "between 2 and 1000");
        }
        if !(d.v_min.is_finite() && d.v_max.is_finite() && d.v_min < d.v_max) {
            return v.fail(&f("distributional.v_min"), "`v_min` < `v_max`, both finite");
        }
    }
    let atoms = op.distributional.as_ref().map_or(1, |d| d.atoms);
    if let Some(name) = &op.dueling {
        let ok = file.populations.iter().any(|p| {
            &p.name == name
                && p.size == atoms
                && *name != a.readout
                && matches!(
                    &p.model,
                    ModelSpec::Lif(LifParams {
                        integration: LifIntegration::SnnTorch {
                            reset: Reset::NoReset,
                            ..
                        },
                        ..
                    })
                )
        });
        if !ok {
            return v.fail(
                &f("dueling"),
                format!("`{name}` must be a population of {} `Lif` neuron{} with `integration: SnnTorch(reset: NoReset)`, other than the readout", if atoms == 1 { "one".to_string() } else { atoms.to_string() }, if atoms == 1 { "" } else { "s (one per atom)" }),
            );
        }
    }
    if let Exploration::Noisy { sigma0 } = op.exploration {
        if !(sigma0.is_finite() && sigma0 >= 0.0) {
            return v.fail(&f("exploration.Noisy.sigma0"), "finite and >= 0");
        }
        if op.epsilon != Epsilon::default() {
            return v.fail(
                &f("epsilon"),
                "Noisy exploration acts greedily on the noisy Q: leave out `epsilon`",
            );
        }
    }
    if let Some(p) = &op.prioritized {
        let ok = p.alpha.is_finite()
            && p.alpha >= 0.0
            && unit(p.beta_start)
            && p.eps.is_finite()
            && p.eps > 0.0;
        if !ok {
            return v.fail(
                &f("prioritized"),
                "`alpha` >= 0, `beta_start` in [0, 1], `eps` > 0",
            );
        }
    }
    Ok(())
}

fn check_control(v: &V, a: &AgentSpec, at: &str) -> Result<()> {
    let control = at == "task.Control";
    if control && a.structure.is_some() {
        return v.fail(
            &format!("{at}.structure"),
            "growth and pruning are not part of `Control` tasks",
        );
    }
    if !control {
        if a.encoder.is_continuous() {
            return v.fail(
                &format!("{at}.encoder"),
                "continuous encoders (OnOff, Population) need a `Control` task",
            );
        }
        if a.decoder != Decoder::Categorical || a.critic || a.solved_at.is_some() {
            return v.fail(
                at,
                "`decoder`, `critic` and `solved_at` belong to `Control` tasks",
            );
        }
    }
    match &a.encoder {
        Encoder::OnOff { scale } => {
            if scale.is_empty() || scale.iter().any(|s| !(s.is_finite() && *s != 0.0)) {
                return v.fail(
                    &format!("{at}.encoder.OnOff.scale"),
                    "one finite, non-zero scale per observation value",
                );
            }
        }
        Encoder::Population {
            per_value,
            low,
            high,
            width,
        } => {
            let e = format!("{at}.encoder.Population");
            if *per_value < 2 {
                return v.fail(&format!("{e}.per_value"), "at least 2 neurons per value");
            }
            if low.len() != high.len()
                || low.is_empty()
                || low
                    .iter()
                    .zip(high)
                    .any(|(l, h)| !(l.is_finite() && h.is_finite() && l < h))
            {
                return v.fail(
                    &format!("{e}.high"),
                    "`low` and `high` need one finite value per observation value, low < high",
                );
            }
            v.positive(&format!("{e}.width"), *width)?;
            if *per_value as u128 * low.len() as u128 > MAX_POPULATION_SIZE as u128 {
                return v.fail(
                    &format!("{e}.per_value"),
                    format!("more input neurons than a population holds ({MAX_POPULATION_SIZE})"),
                );
            }
        }
        Encoder::Egocentric { size } => {
            // 2·size² observation values onto size² + (2·size − 1)² input neurons.
            let n = *size as u128;
            if n == 0 {
                return v.fail(
                    &format!("{at}.encoder.Egocentric.size"),
                    "the grid needs at least one cell",
                );
            }
            if n * n + (2 * n - 1) * (2 * n - 1) > MAX_POPULATION_SIZE as u128 {
                return v.fail(
                    &format!("{at}.encoder.Egocentric.size"),
                    format!("more input neurons than a population holds ({MAX_POPULATION_SIZE})"),
                );
            }
        }
        Encoder::Identity => {}
    }
    if let Decoder::Gaussian {
        scale,
        log_std,
        min_log_std,
        max_log_std,
        low,
        high,
    } = &a.decoder
    {
        let e = format!("{at}.decoder.Gaussian");
        let finite = [scale, log_std, min_log_std, max_log_std, low, high]
            .iter()
            .all(|x| x.is_finite());
        if !finite || min_log_std > max_log_std || low >= high {
            return v.fail(
                &e,
                "finite numbers with min_log_std <= max_log_std and low < high",
            );
        }
    }
    for (f, x) in [("value_coef", a.value_coef), ("value_scale", a.value_scale)] {
        if !(x.is_finite() && x >= 0.0) {
            return v.fail(&format!("{at}.{f}"), "must be a finite number >= 0");
        }
    }
    if let Some(s) = a.solved_at {
        if !s.is_finite() {
            return v.fail(&format!("{at}.solved_at"), "must be a finite number");
        }
    }
    Ok(())
}

/// `learn_decay` on population `p`: a model with decays the executor can learn (β of a `Lif`
/// with snnTorch integration, β and α of a `Synaptic`), one value per parameter, and a task
/// whose gradient has the decays' terms.
fn check_learn_decay(v: &V, f: &str, p: &PopulationSpec, task: Option<&TaskSpec>) -> Result<()> {
    let decays = matches!(
        p.model,
        ModelSpec::Lif(LifParams {
            integration: LifIntegration::SnnTorch { .. },
            ..
        }) | ModelSpec::Synaptic(_)
    );
    if !decays {
        return v.fail(
            f,
            "only a `Lif` with `integration: SnnTorch(...)` (β) or a `Synaptic` population (β and α) learns its decays",
        );
    }
    if !p.params.is_empty() {
        return v.fail(
            f,
            "a population that learns its decays takes one value per parameter, not per-neuron `params` (the decays start from the model's values)",
        );
    }
    match task {
        Some(TaskSpec::Classify(c)) if !c.gradient.is_bptt() => v.fail(
            f,
            "learned decays train by backpropagation through time (`gradient: Bptt`); e-prop's eligibility traces have no decay term",
        ),
        Some(TaskSpec::Classify(_)) => Ok(()),
        Some(TaskSpec::Control(a)) if a.off_policy.is_some() => Ok(()),
        Some(TaskSpec::Agent(_) | TaskSpec::Control(_)) => v.fail(
            f,
            "policy-gradient agents train with the factored backward pass, which has no decay gradient: decays are learned in `Classify` tasks and off-policy `Control` tasks",
        ),
        _ => v.fail(
            f,
            "a population learns its decays only in a task that trains on the executor (`Classify`, or `Control` with `off_policy`)",
        ),
    }
}
