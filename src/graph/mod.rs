//! The network as a graph: populations are nodes, projections are edges
//! (`petgraph::StableGraph`). Everything outside this module names populations by name or by a
//! generation-checked id: petgraph reuses the slots of removed nodes, so a bare `NodeIndex`
//! kept across a structural edit could silently point at another population. Every structural
//! edit bumps [`Network::generation`].

mod build;
pub mod edit;
pub mod estimate;
pub mod population;
pub mod projection;

pub use crate::file::Kernel;
pub(crate) use build::Sampler;
pub use build::{build, build_part, Targets};
pub use population::{InputRing, Population};
pub use projection::{Delays, Projection, Structure, Traces, WeightValues, Weights};

use petgraph::stable_graph::{EdgeIndex, NodeIndex, StableGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::BTreeMap;

/// A population id: a graph slot plus the serial number of the population created there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PopId {
    index: NodeIndex<u32>,
    serial: u64,
}

/// A projection id: a graph slot plus the serial number of the projection created there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjId {
    index: EdgeIndex<u32>,
    serial: u64,
}

#[derive(Debug, Clone)]
struct Node {
    serial: u64,
    pop: Population,
}

#[derive(Debug, Clone)]
struct Edge {
    serial: u64,
    proj: Projection,
}

/// A spiking network: populations, projections, and the structure's generation.
#[derive(Debug, Clone, Default)]
pub struct Network {
    graph: StableGraph<Node, Edge, petgraph::Directed, u32>,
    pops: BTreeMap<String, PopId>,
    projs: BTreeMap<String, ProjId>,
    next_serial: u64,
    /// Bumped by every structural edit.
    pub generation: u64,
}

impl Network {
    /// An empty network.
    pub fn new() -> Self {
        Self::default()
    }

    fn serial(&mut self) -> u64 {
        self.next_serial += 1;
        self.next_serial
    }

    /// Adds a population; its name must be new.
    pub fn add_population(&mut self, pop: Population) -> PopId {
        assert!(
            !self.pops.contains_key(&pop.name),
            "population `{}` exists",
            pop.name
        );
        let serial = self.serial();
        let name = pop.name.clone();
        let index = self.graph.add_node(Node { serial, pop });
        let id = PopId { index, serial };
        self.pops.insert(name, id);
        self.generation += 1;
        id
    }

    /// Adds a projection from `pre` to `post`; the weight matrix must be n_pre × n_post. The
    /// post population's rings are lengthened to hold the projection's longest delay.
    pub fn add_projection(
        &mut self,
        pre: PopId,
        post: PopId,
        proj: Projection,
        now: u64,
    ) -> ProjId {
        let (n_pre, n_post) = (self.pop(pre).len(), self.pop(post).len());
        assert_eq!(proj.weights.shape(), (n_pre, n_post), "projection shape");
        self.insert_projection(pre, post, proj, now)
    }

    /// [`Network::add_projection`] of a part of a projection ([`build_part`]): its columns are
    /// a range of `post`'s neurons. A network holds such parts only from the build of a split
    /// simulation's rank to the split of its populations, which makes the shapes agree again.
    pub(crate) fn add_projection_part(
        &mut self,
        pre: PopId,
        post: PopId,
        proj: Projection,
    ) -> ProjId {
        assert_eq!(proj.weights.rows(), self.pop(pre).len(), "projection rows");
        assert!(
            proj.weights.cols() <= self.pop(post).len(),
            "projection columns"
        );
        self.insert_projection(pre, post, proj, 0)
    }

    fn insert_projection(&mut self, pre: PopId, post: PopId, proj: Projection, now: u64) -> ProjId {
        assert!(
            proj.delays.min() >= 1 || matches!(proj.delays, Delays::Uniform(0)),
            "delays are at least one step, or zero for every synapse"
        );
        assert!(
            !self.projs.contains_key(&proj.name),
            "projection `{}` exists",
            proj.name
        );
        let need = proj.delays.max() as usize + 1;
        self.pop_mut(post).input.lengthen(need, now);
        let serial = self.serial();
        let name = proj.name.clone();
        let index = self
            .graph
            .add_edge(pre.index, post.index, Edge { serial, proj });
        let id = ProjId { index, serial };
        self.projs.insert(name, id);
        self.generation += 1;
        id
    }

    /// The id of a population by name.
    pub fn pop_id(&self, name: &str) -> Option<PopId> {
        self.pops.get(name).copied()
    }

    /// The id of a projection by name.
    pub fn proj_id(&self, name: &str) -> Option<ProjId> {
        self.projs.get(name).copied()
    }

    /// Whether `id` still names a live population (its slot may since have been reused).
    pub fn contains_pop(&self, id: PopId) -> bool {
        self.graph
            .node_weight(id.index)
            .is_some_and(|n| n.serial == id.serial)
    }

    /// The population `id`. Panics if the id is stale: that is a bug in the caller.
    pub fn pop(&self, id: PopId) -> &Population {
        match self.graph.node_weight(id.index) {
            Some(n) if n.serial == id.serial => &n.pop,
            _ => panic!("stale population id {id:?}"),
        }
    }

    /// The population `id`, mutable.
    pub fn pop_mut(&mut self, id: PopId) -> &mut Population {
        match self.graph.node_weight_mut(id.index) {
            Some(n) if n.serial == id.serial => &mut n.pop,
            _ => panic!("stale population id {id:?}"),
        }
    }

    /// A population by name.
    pub fn population(&self, name: &str) -> Option<&Population> {
        self.pop_id(name).map(|id| self.pop(id))
    }

    /// A population by name, mutable.
    pub fn population_mut(&mut self, name: &str) -> Option<&mut Population> {
        self.pop_id(name).map(|id| self.pop_mut(id))
    }

    /// The projection `id`. Panics if the id is stale.
    pub fn proj(&self, id: ProjId) -> &Projection {
        match self.graph.edge_weight(id.index) {
            Some(e) if e.serial == id.serial => &e.proj,
            _ => panic!("stale projection id {id:?}"),
        }
    }

    /// The projection `id`, mutable.
    pub fn proj_mut(&mut self, id: ProjId) -> &mut Projection {
        match self.graph.edge_weight_mut(id.index) {
            Some(e) if e.serial == id.serial => &mut e.proj,
            _ => panic!("stale projection id {id:?}"),
        }
    }

    /// A projection by name.
    pub fn projection(&self, name: &str) -> Option<&Projection> {
        self.proj_id(name).map(|id| self.proj(id))
    }

    /// Pre and post population of a projection.
    pub fn endpoints(&self, id: ProjId) -> (PopId, PopId) {
        let (a, b) = self
            .graph
            .edge_endpoints(id.index)
            .expect("live projection");
        (self.id_at(a), self.id_at(b))
    }

    fn id_at(&self, index: NodeIndex<u32>) -> PopId {
        PopId {
            index,
            serial: self.graph[index].serial,
        }
    }

    /// Population ids in name order.
    pub fn pop_ids(&self) -> Vec<PopId> {
        self.pops.values().copied().collect()
    }

    /// Population ids in the order they were added (a graph file's order). petgraph's stable
    /// indices keep it while no population is removed; a removed one's slot may be reused.
    pub fn pop_ids_in_order(&self) -> Vec<PopId> {
        self.graph.node_indices().map(|i| self.id_at(i)).collect()
    }

    /// Projection ids in name order.
    pub fn proj_ids(&self) -> Vec<ProjId> {
        self.projs.values().copied().collect()
    }

    /// Populations in name order.
    pub fn populations(&self) -> impl Iterator<Item = &Population> {
        self.pops.values().map(|&id| self.pop(id))
    }

    /// Projections in name order, with their pre and post population names.
    pub fn projections(&self) -> impl Iterator<Item = (&str, &str, &Projection)> {
        self.projs.values().map(|&id| {
            let (a, b) = self.endpoints(id);
            (
                self.pop(a).name.as_str(),
                self.pop(b).name.as_str(),
                self.proj(id),
            )
        })
    }

    /// Projections into `post`, in name order.
    pub fn incoming(&self, post: PopId) -> Vec<ProjId> {
        let mut v: Vec<(&str, ProjId)> = self
            .graph
            .edges_directed(post.index, Direction::Incoming)
            .map(|e| {
                let w = e.weight();
                (
                    w.proj.name.as_str(),
                    ProjId {
                        index: e.id(),
                        serial: w.serial,
                    },
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        v.into_iter().map(|(_, id)| id).collect()
    }

    /// Number of populations.
    pub fn population_count(&self) -> usize {
        self.pops.len()
    }

    /// Number of projections.
    pub fn projection_count(&self) -> usize {
        self.projs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::ObservationParams;
    use crate::models::{Dynamics, Observation};

    fn source(name: &str) -> Population {
        Population::new(
            name,
            Dynamics::Observation(Observation::new(&ObservationParams::default(), 3)),
        )
    }

    #[test]
    fn ids_are_checked_against_reused_slots() {
        let mut net = Network::new();
        let a = net.add_population(source("a"));
        assert!(net.contains_pop(a));
        let g = net.generation;
        // Remove `a` by hand and add `b`: petgraph reuses the slot.
        net.graph.remove_node(a.index);
        net.pops.remove("a");
        let b = net.add_population(source("b"));
        assert_eq!(a.index, b.index, "petgraph reuses the freed slot");
        assert!(
            !net.contains_pop(a),
            "the old id must not resolve to the new population"
        );
        assert!(net.contains_pop(b));
        assert!(net.generation > g);
    }
}
