//! The reference interpreter as an engine (`--backend interp`). The interpreter
//! itself stays in `kernel::interp`: it is the oracle the other engines are tested
//! against, and the kernel's own tools (gradcheck, predictions) run it directly.

use super::{Engine, EngineFacts, EngineKind, Partials, Pass, Precision};
use crate::kernel::{Kernel, KernelError};

/// A kernel run by the interpreter, in f32 or f64 (sums in f64), on one thread.
#[derive(Debug, Clone)]
pub struct InterpEngine {
    kernel: Kernel,
    precision: Precision,
}

impl InterpEngine {
    pub fn new(kernel: &Kernel, precision: Precision) -> InterpEngine {
        InterpEngine {
            kernel: kernel.clone(),
            precision,
        }
    }
}

impl Engine for InterpEngine {
    fn kernel(&self) -> &Kernel {
        &self.kernel
    }

    fn facts(&self) -> EngineFacts {
        EngineFacts {
            kind: EngineKind::Interp,
            precision: self.precision,
            isa: Some("scalar".into()),
            products: None,
            groups: None,
            adapter: None,
            threads: 1,
            ranks: 1,
        }
    }

    /// One row: the interpreter adds every point set's sinks into one running sum
    /// (the oracle's own order, unchanged), so the combination adds it to zero.
    fn partials(&self, pass: &Pass) -> Result<Partials, KernelError> {
        let run = match self.precision {
            Precision::F32 => Kernel::pass_as::<f32>,
            Precision::F64 => Kernel::pass_as::<f64>,
        };
        let sums = run(
            &self.kernel,
            pass.theta,
            pass.seeds,
            pass.batches,
            pass.forward_only,
        );
        let mut out = Partials::new(sums.terms.len(), sums.grad.len());
        out.push(&[sums.terms, sums.grad].concat());
        Ok(out)
    }
}
