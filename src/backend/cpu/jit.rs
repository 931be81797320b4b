//! The JIT context (host ISA with its features), the handle to a compiled function
//! ([`Code`], which only this module builds) and the one function that calls
//! compiled code ([`run`]).

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

/// The widest vector extension the ISA lets Cranelift use, for the report: the
/// code's vectors are 128-bit (f32x4, f64x2) whatever it says, but the encodings
/// (VEX, EVEX) and instructions (FMA, AVX-512's conversions) follow the extension.
pub(crate) fn vector_isa(isa: &dyn TargetIsa) -> String {
    let has = |name: &str| {
        isa.isa_flags()
            .iter()
            .any(|f| f.name == name && f.as_bool() == Some(true))
    };
    match isa.name() {
        "x64" => [
            ("has_avx512f", "AVX-512"),
            ("has_avx2", "AVX2"),
            ("has_avx", "AVX"),
            ("has_sse42", "SSE4.2"),
        ]
        .into_iter()
        .find(|(flag, _)| has(flag))
        .map_or("SSE2", |(_, name)| name)
        .to_string(),
        // Cranelift's aarch64 back end always emits NEON (Advanced SIMD).
        "aarch64" => "NEON".to_string(),
        other => other.to_string(),
    }
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
    /// Whether [`Jit::finish`] has made the functions executable.
    finished: bool,
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
            finished: false,
        }
    }

    pub fn call_conv(&self) -> CallConv {
        self.call_conv
    }

    pub fn frontend(&self) -> TargetFrontendConfig {
        self.frontend
    }

    /// Compiles `func` (built with [`clif::signature`]); its [`Code`] is there once
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
        self.finished = false;
        Ok(id)
    }

    /// Makes every defined function executable.
    pub fn finish(&mut self) -> Result<(), BackendError> {
        self.module
            .finalize_definitions()
            .map_err(|e| BackendError::Codegen(e.to_string()))?;
        self.finished = true;
        Ok(())
    }

    /// The handle to function `id`, which the caller built for `plan`, a program
    /// with `theta_len` θ entries and `n_terms` terms (or, in the vector-math tests,
    /// a map that touches less than such a function would). Only after
    /// [`Jit::finish`].
    pub fn code(
        &self,
        id: cranelift_module::FuncId,
        plan: &Plan,
        theta_len: usize,
        n_terms: usize,
    ) -> Result<Code, BackendError> {
        if !self.finished {
            return Err(BackendError::Internal(
                "a function's address was asked before finalization".into(),
            ));
        }
        Ok(Code {
            address: self.module.get_finalized_function(id) as usize,
            elem: plan.elem(),
            block: plan.block(),
            n_cols: plan.n_cols,
            scratch_bytes: plan.scratch_bytes,
            uniform_bytes: plan.uniform_bytes,
            theta_len,
            n_terms,
        })
    }
}

/// A finalized kernel function and the sizes of the memory it touches. Only
/// [`Jit::code`] builds one (the fields are private), so [`run`] never calls an
/// arbitrary address. It stays valid when its `Jit` is dropped: cranelift-jit
/// leaks finalized code rather than free it under a live function pointer (only its
/// `unsafe fn free_memory` frees, and we never call it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Code {
    address: usize,
    elem: usize,
    block: usize,
    n_cols: usize,
    scratch_bytes: usize,
    uniform_bytes: usize,
    theta_len: usize,
    n_terms: usize,
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

/// Runs the compiled function `code` on `call`'s memory.
///
/// This is the only place that executes generated code. It is a safe function
/// because its argument cannot be forged: a [`Code`] comes only from [`Jit::code`],
/// for a finalized function built by `clif::build` for a plan whose sizes the handle
/// carries, and the generated code touches only
/// - `cols`: `n_cols` columns of `nblocks · block` elements, `stride` bytes apart;
/// - `theta` (`theta_len` elements) and `seeds` (`n_terms` elements), read only;
/// - `scratch`, `uniform`: the plan's byte sizes;
/// - `grad`, `terms`: one 16-byte vector per θ entry and per term.
///
/// Every bound is asserted here, before the call, so a mismatch panics instead of
/// corrupting memory. Unaligned accesses are fine: the code never claims alignment.
pub(crate) fn run(code: &Code, call: Call) {
    let el = code.elem;
    let block_bytes = code.block * el;
    let need_cols = if call.nblocks == 0 {
        0
    } else {
        (code.n_cols - 1) * call.stride + call.nblocks * block_bytes
    };
    assert!(call.stride >= call.nblocks * block_bytes || code.n_cols == 1);
    assert!(call.cols.len() >= need_cols, "input columns too short");
    assert!(call.theta.len() >= code.theta_len * el, "θ too short");
    assert!(call.seeds.len() >= code.n_terms * el, "seeds too short");
    assert!(
        call.scratch.len() * 16 >= code.scratch_bytes,
        "scratch too small"
    );
    assert!(
        call.uniform.len() * 16 >= code.uniform_bytes,
        "uniform area too small"
    );
    assert!(
        call.grad.len() >= code.theta_len,
        "gradient accumulator too small"
    );
    assert!(
        call.terms.len() >= code.n_terms,
        "term accumulator too small"
    );
    assert!(code.address != 0, "function not finalized");
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
    // SAFETY: `code.address` is a finalized function of this signature in the host's
    // default C calling convention (`Jit::code`, `clif::signature`), alive for the
    // rest of the process, and every region it touches was checked above.
    unsafe {
        let f: extern "C" fn(*const Args) = std::mem::transmute(code.address);
        f(&args);
    }
}
