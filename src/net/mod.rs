//! The network: where its trainable numbers live in θ and how they start. How
//! derivatives ("jets") flow through its layers is `kernel::jets`, next to the
//! lowering that uses them.
//!
//! # The layout of θ
//! θ is one flat `Vec<f64>`:
//! 1. every network's layers' tensors, network after network (`Problem::networks`),
//!    layer by layer, each layer's in [`Layer::tensors`] order;
//!    a matrix is `outputs × inputs` row-major, a vector has `outputs` entries, a
//!    scalar one;
//! 2. then the PDE parameters in [`Problem::params`] order, one entry each; a
//!    `positive` parameter is stored as its logarithm (its value is exp(raw)).
//!
//! [`Layout`] computes the offsets; every other module asks it rather than counting.

pub mod init;
#[cfg(test)]
pub(crate) mod testnets;
mod transfer;

pub use init::{init_theta, param_count};
pub use transfer::warm_start;

use crate::problem::{Layer, Network, Problem, Tensor, TensorShape};

/// Offsets of every tensor and parameter in θ.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// `tensors[n][l][i]`: offset of tensor i of layer l of network n.
    pub tensors: Vec<Vec<Vec<usize>>>,
    /// Offset of PDE parameter k.
    pub params: Vec<usize>,
    /// Entries that belong to the networks (the first `net_len` of θ).
    pub net_len: usize,
    /// Total length of θ.
    pub len: usize,
}

/// Number of entries of tensor `i` of `layer`.
pub fn tensor_len(layer: &Layer, i: usize) -> usize {
    match layer.tensors[i].shape {
        TensorShape::Matrix => layer.outputs * layer.inputs,
        TensorShape::Vector => layer.outputs,
        TensorShape::Scalar => 1,
    }
}

impl Layout {
    /// The networks' tensors one network after another, each layer by layer, then
    /// `n_params` PDE parameters.
    pub fn of_networks(nets: &[Network], n_params: usize) -> Layout {
        let mut at = 0;
        let mut tensors = Vec::with_capacity(nets.len());
        for net in nets {
            let mut layers = Vec::with_capacity(net.layers.len());
            for layer in &net.layers {
                let offsets = (0..layer.tensors.len())
                    .map(|i| {
                        let o = at;
                        at += tensor_len(layer, i);
                        o
                    })
                    .collect();
                layers.push(offsets);
            }
            tensors.push(layers);
        }
        let net_len = at;
        let params = (0..n_params).map(|k| net_len + k).collect();
        Layout {
            tensors,
            params,
            net_len,
            len: net_len + n_params,
        }
    }

    /// Every network tensor with its network index, layer index and θ range.
    fn tensor_ranges<'p>(
        &'p self,
        problem: &'p Problem,
    ) -> impl Iterator<Item = (usize, usize, &'p Tensor, std::ops::Range<usize>)> + 'p {
        problem
            .networks
            .iter()
            .enumerate()
            .flat_map(move |(n, net)| {
                net.layers.iter().enumerate().flat_map(move |(l, layer)| {
                    layer.tensors.iter().enumerate().map(move |(i, t)| {
                        let o = self.tensors[n][l][i];
                        (n, l, t, o..o + tensor_len(layer, i))
                    })
                })
            })
    }

    /// The θ ranges of `fixed` tensors, which training leaves at their initial values.
    pub fn fixed(&self, problem: &Problem) -> Vec<std::ops::Range<usize>> {
        self.tensor_ranges(problem)
            .filter(|(_, _, t, _)| t.fixed)
            .map(|(_, _, _, r)| r)
            .collect()
    }

    pub fn of(problem: &Problem) -> Layout {
        Layout::of_networks(&problem.networks, problem.params.len())
    }

    /// A readable name for every tensor and parameter with its θ range, in θ order:
    /// `layer 3 W1`, `λ1` (for reports and gradcheck); with several networks, each
    /// layer is named by its network's outputs (`a: layer 2 W`).
    pub fn entries(&self, problem: &Problem) -> Vec<(String, std::ops::Range<usize>)> {
        let mut out = Vec::new();
        let several = problem.networks.len() > 1;
        for (n, l, t, range) in self.tensor_ranges(problem) {
            let prefix = match several {
                true => format!("{}: ", problem.networks[n].outputs.join(", ")),
                false => String::new(),
            };
            out.push((format!("{prefix}layer {} {}", l + 1, t.name), range));
        }
        for (k, p) in problem.params.iter().enumerate() {
            out.push((p.name.clone(), self.params[k]..self.params[k] + 1));
        }
        out
    }
}
