//! The JIT context (host ISA with its features, `opt_level = speed`) and the one
//! function that calls compiled code.

use std::sync::Arc;

use cranelift_codegen::ir::Function;
use cranelift_codegen::isa::{CallConv, TargetFrontendConfig, TargetIsa};
use cranelift_codegen::settings::{self, Configurable};
use cranelift_codegen::Context;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{default_libcall_names, Linkage, Module};

use super::clif::{self, Plan};
use super::BackendError;

/// The host's instruction set with all its features.
///
/// `opt_level` is `none` unless `PDENET_CLIF_OPT=speed`: measured on Burgers QRes
/// (f32, 1 thread) `none` runs 22 ms per evaluation against 31 ms for `speed`, and
/// compiles in half the time. Our CLIF is already shaped (values in memory, loops per
/// op); `speed`'s e-graph hoists loop-invariant θ broadcasts out of the tile loops
/// into spill slots and elaborates each FMA chain right before its store, which
/// serializes the chains a product interleaves.
pub(crate) fn host_isa() -> Result<Arc<dyn TargetIsa>, BackendError> {
    let err = |e: String| BackendError::Codegen(e);
    let mut fb = settings::builder();
    let speed = std::env::var("PDENET_CLIF_OPT").is_ok_and(|v| v == "speed");
    for (k, v) in [
        ("opt_level", if speed { "speed" } else { "none" }),
        ("use_colocated_libcalls", "false"),
        ("is_pic", "false"),
        (
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        ),
    ] {
        fb.set(k, v).map_err(|e| err(e.to_string()))?;
    }
    let ib = cranelift_native::builder().map_err(|e| err(e.to_string()))?;
    ib.finish(settings::Flags::new(fb))
        .map_err(|e| err(e.to_string()))
}

/// Whether the ISA emits `fma` as one instruction (otherwise it would be a libcall).
pub(crate) fn has_fma(isa: &dyn TargetIsa) -> bool {
    isa.isa_flags()
        .iter()
        .any(|f| f.name == "has_fma" && f.as_bool() == Some(true))
}

/// A JIT module that owns the code of one `ClifKernel`.
pub(crate) struct Jit {
    module: JITModule,
    ctx: Context,
    call_conv: CallConv,
    frontend: TargetFrontendConfig,
    next: u32,
}

impl Jit {
    pub fn new(isa: Arc<dyn TargetIsa>) -> Jit {
        let call_conv = isa.default_call_conv();
        let frontend = isa.frontend_config();
        let module = JITModule::new(JITBuilder::with_isa(isa, default_libcall_names()));
        let ctx = module.make_context();
        Jit {
            module,
            ctx,
            call_conv,
            frontend,
            next: 0,
        }
    }

    pub fn call_conv(&self) -> CallConv {
        self.call_conv
    }

    pub fn frontend(&self) -> TargetFrontendConfig {
        self.frontend
    }

    /// Compiles `func` (built with [`clif::signature`]); the address is valid once
    /// [`Jit::finish`] has run.
    pub fn define(&mut self, func: Function) -> Result<cranelift_module::FuncId, BackendError> {
        let name = format!("kernel{}", self.next);
        self.next += 1;
        let sig = clif::signature(self.call_conv);
        let id = self
            .module
            .declare_function(&name, Linkage::Local, &sig)
            .map_err(|e| BackendError::Codegen(e.to_string()))?;
        self.ctx.func = func;
        self.module
            .define_function(id, &mut self.ctx)
            .map_err(|e| BackendError::Codegen(format!("{e:?}")))?;
        self.module.clear_context(&mut self.ctx);
        Ok(id)
    }

    /// Makes every defined function executable.
    pub fn finish(&mut self) -> Result<(), BackendError> {
        self.module
            .finalize_definitions()
            .map_err(|e| BackendError::Codegen(e.to_string()))
    }

    pub fn address(&self, id: cranelift_module::FuncId) -> usize {
        self.module.get_finalized_function(id) as usize
    }
}

/// The `Args` record every kernel function reads (see `clif::args` for offsets).
#[repr(C)]
struct Args {
    cols: *const u8,
    stride: usize,
    nblocks: usize,
    theta: *const u8,
    seeds: *const u8,
    scratch: *mut u8,
    uniform: *mut u8,
    grad: *mut u8,
    terms: *mut u8,
}

/// The memory one call reads and writes. Byte slices; `cols` starts at the first
/// point of the first block and holds `n_cols` columns `stride` bytes apart.
pub(crate) struct Call<'a> {
    pub cols: &'a [u8],
    pub stride: usize,
    pub nblocks: usize,
    pub theta: &'a [u8],
    pub seeds: &'a [u8],
    pub scratch: &'a mut [u128],
    pub uniform: &'a mut [u128],
    pub grad: &'a mut [u128],
    pub terms: &'a mut [u128],
}

/// Runs the compiled function at `code` on `call`'s memory.
///
/// # Safety
///
/// This is the only place that executes generated code, and it is safe to call
/// because it checks what the code relies on: `code` is the finalized address of a
/// function built by `clif::build` for a program laid out by `plan` (the caller,
/// `ClifKernel`, keeps that pairing and keeps the JIT module alive while it runs),
/// and the generated code touches only
/// - `cols`: `n_cols` columns of `nblocks · block` elements, `stride` bytes apart;
/// - `theta` (`theta_len` elements) and `seeds` (`n_terms` elements), read only;
/// - `scratch`, `uniform`: the plan's byte sizes;
/// - `grad`, `terms`: one 16-byte vector per θ entry and per term.
///
/// Every bound is asserted here, before the call, so a mismatch panics instead of
/// corrupting memory. Unaligned accesses are fine: the code never claims alignment.
pub(crate) fn run(code: usize, plan: &Plan, theta_len: usize, n_terms: usize, call: Call) {
    let el = plan.elem();
    let block_bytes = plan.block() * el;
    let need_cols = if call.nblocks == 0 {
        0
    } else {
        (plan.n_cols - 1) * call.stride + call.nblocks * block_bytes
    };
    assert!(call.stride >= call.nblocks * block_bytes || plan.n_cols == 1);
    assert!(call.cols.len() >= need_cols, "input columns too short");
    assert!(call.theta.len() >= theta_len * el, "θ too short");
    assert!(call.seeds.len() >= n_terms * el, "seeds too short");
    assert!(
        call.scratch.len() * 16 >= plan.scratch_bytes,
        "scratch too small"
    );
    assert!(
        call.uniform.len() * 16 >= plan.uniform_bytes,
        "uniform area too small"
    );
    assert!(
        call.grad.len() >= theta_len,
        "gradient accumulator too small"
    );
    assert!(call.terms.len() >= n_terms, "term accumulator too small");
    assert!(code != 0, "function not finalized");
    let args = Args {
        cols: call.cols.as_ptr(),
        stride: call.stride,
        nblocks: call.nblocks,
        theta: call.theta.as_ptr(),
        seeds: call.seeds.as_ptr(),
        scratch: call.scratch.as_mut_ptr().cast(),
        uniform: call.uniform.as_mut_ptr().cast(),
        grad: call.grad.as_mut_ptr().cast(),
        terms: call.terms.as_mut_ptr().cast(),
    };
    // SAFETY: see the doc comment: `code` has this signature and the default C
    // calling convention of the host, and every region it touches was checked above.
    unsafe {
        let f: extern "C" fn(*const Args) = std::mem::transmute(code);
        f(&args);
    }
}
