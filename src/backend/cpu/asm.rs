//! The fused element-wise groups (`clif::fuse`) as AVX-512 or AVX2 machine code.
//!
//! Cranelift emits 128-bit vectors only, and with the products on the host's full
//! width (`micro`) the element-wise groups are the largest part of a small network's
//! epoch left on them (about a third of the Burgers MLP's). A group is a short list
//! of additions, multiplications, divisions, negations, square roots, absolute
//! values, integer powers, selections, tanh and exp over values of one width, so it
//! is assembled here directly, with `iced-x86`, on zmm (EVEX) or ymm (VEX)
//! registers ([`Vreg`]: the emitter is one, the instructions that differ are the
//! register kind's): one function per group that runs every entry and every vector
//! of a tile through the group's ops in registers, loading its operands from
//! scratch, the uniform area or the input columns and storing the values read after
//! the group, as Cranelift's loop does on xmm registers. Each op is the same IEEE
//! operation per lane (no contraction, no reassociation), so the results are bit
//! for bit those of Cranelift's code; a test holds them to that on both kinds.
//!
//! A group that needs another op (sin, cos or log, inline in `vmath`), more
//! registers than the kind has (30 zmm, 13 ymm: the rest hold the sign mask, one
//! and, on VEX, a broadcast number), or more input columns than there are free
//! general registers is left to Cranelift. The function is `extern "sysv64"
//! fn(scratch, uniform, col0, stride)`: col0 is the tile's first input column,
//! column k at col0 + k·stride.

use std::sync::Arc;

use iced_x86::code_asm::*;

use super::clif::{Group, Loc, VB};
use super::micro::{Isa, Products};
use super::BackendError;
use crate::backend::elementary::{EXP_RANGE, LN2_F32, LN2_F64, TANH_ARG_MAX, TERMS_F32, TERMS_F64};
use crate::expr::{Cmp, Func};
use crate::kernel::ir::{Op, Program};

/// Which code computes the fused element-wise groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Groups {
    /// Cranelift's loops on 128-bit vectors.
    Clif,
    /// AVX-512 machine code from this module (Cranelift's where a group cannot be).
    Avx512,
    /// AVX2 machine code (ymm, VEX) from this module, likewise.
    Avx2,
}

impl Groups {
    /// The products' instruction set where it is AVX-512 or AVX2 (the host has it
    /// and no setting said otherwise), else Cranelift; `PDENET_GROUPS=clif` keeps
    /// Cranelift's.
    /// The route for the listing and the report: `clif`, or `avx512 (k of n)` when
    /// k of n groups were assembled (Cranelift's code computes the others).
    pub fn describe(self, assembled: usize, total: usize) -> String {
        match self {
            Groups::Avx512 => format!("avx512 ({assembled} of {total})"),
            Groups::Avx2 => format!("avx2 ({assembled} of {total})"),
            Groups::Clif => "clif".into(),
        }
    }

    pub fn choose(products: Products) -> Result<Groups, BackendError> {
        let setting = std::env::var("PDENET_GROUPS").unwrap_or_default();
        // The code follows the System V calling convention (not Windows').
        let assembled = match products {
            Products::Native(Isa::Avx512) if cfg!(unix) => Groups::Avx512,
            Products::Native(Isa::Avx2) if cfg!(unix) => Groups::Avx2,
            _ => Groups::Clif,
        };
        match setting.as_str() {
            "" | "auto" => Ok(assembled),
            "clif" => Ok(Groups::Clif),
            other => Err(BackendError::Unsupported(format!(
                "PDENET_GROUPS={other}: expected auto or clif"
            ))),
        }
    }

    /// Ops per group at most: longer groups store fewer values for the next, and
    /// register allocation is linear in a group's size; AVX2's 16 registers hold
    /// fewer live values, so its groups stay at Cranelift's length.
    pub(crate) fn max_ops(self) -> usize {
        match self {
            Groups::Avx512 => MAX_OPS,
            Groups::Avx2 | Groups::Clif => super::clif::fuse::MAX_OPS,
        }
    }
}

/// Ops per group at most when the groups are assembled for AVX-512.
const MAX_OPS: usize = 64;

/// The groups of one program assembled into one executable map.
#[derive(Debug, Clone)]
pub(crate) struct GroupCode {
    map: Arc<memmap2::Mmap>,
    /// Each group's entry point (an offset into the map), or `None` where
    /// Cranelift computes it.
    offsets: Vec<Option<usize>>,
}

impl GroupCode {
    /// The address of group g's function, if it was assembled.
    pub fn addr(&self, g: usize) -> Option<usize> {
        self.offsets[g].map(|o| self.map.as_ptr() as usize + o)
    }

    /// How many groups were assembled.
    pub fn assembled(&self) -> usize {
        self.offsets.iter().filter(|o| o.is_some()).count()
    }
}

/// Where a group's values and operands live, as the plan lays them out.
pub(crate) struct Layout<'a> {
    pub prog: &'a Program,
    pub loc: &'a [Loc],
    /// f64 (else f32).
    pub wide: bool,
    /// Bytes of one entry of a varying value in scratch (a tile's points).
    pub entry_bytes: usize,
}

/// Assembles every group it can for `route`; `None` when none could be (or the
/// map failed, or the route is Cranelift's).
pub(crate) fn assemble(layout: &Layout, groups: &[Group], route: Groups) -> Option<GroupCode> {
    let mut bytes: Vec<u8> = vec![];
    let mut offsets = vec![];
    for group in groups {
        let code = match route {
            Groups::Avx512 => Emit::<AsmRegisterZmm>::group(layout, group).ok(),
            Groups::Avx2 => Emit::<AsmRegisterYmm>::group(layout, group).ok(),
            Groups::Clif => return None,
        };
        offsets.push(code.map(|c| {
            while !bytes.len().is_multiple_of(64) {
                bytes.push(0xcc);
            }
            let at = bytes.len();
            bytes.extend_from_slice(&c);
            at
        }));
    }
    if bytes.is_empty() {
        return None;
    }
    let mut map = memmap2::MmapMut::map_anon(bytes.len()).ok()?;
    map.copy_from_slice(&bytes);
    let map = map.make_exec().ok()?;
    Some(GroupCode {
        map: Arc::new(map),
        offsets,
    })
}

/// An operand of an instruction: a register or memory (a whole vector, or one
/// number broadcast to every lane).
#[derive(Clone, Copy)]
enum Arg<R> {
    Reg(R),
    Full(AsmMemoryOperand),
    Bcst(AsmMemoryOperand),
}

/// One instruction in its f32 and f64 forms with y a register, a vector in memory
/// or a broadcast number: `$full` makes the vector operand (`zmmword_ptr`,
/// `ymmword_ptr`); `$bcst` is `evex` (an embedded broadcast) or `vex` (the number
/// broadcast into `Vreg::TMP` first: VEX has no embedded broadcast).
macro_rules! forms {
    ($a:expr, $full:ident, $bcst:ident, $wide:expr, $y:expr, |$ins:ident, $op:ident| $call:expr, $ps:ident, $pd:ident) => {
        match $wide {
            false => forms!(@one $a, $full, $bcst, $y, dword, |$ins, $op| $call, $ps),
            true => forms!(@one $a, $full, $bcst, $y, qword, |$ins, $op| $call, $pd),
        }
    };
    (@one $a:expr, $full:ident, $bcst:ident, $y:expr, $size:ident, |$ins:ident, $op:ident| $call:expr, $name:ident) => {
        match $y {
            Arg::Reg(r) => {
                let ($ins, $op) = (CodeAssembler::$name, r);
                $call
            }
            Arg::Full(m) => {
                let ($ins, $op) = (CodeAssembler::$name, $full(m));
                $call
            }
            Arg::Bcst(m) => forms!(@bcst $bcst, $a, $size, m, |$ins, $op| $call, $name),
        }
    };
    (@bcst evex, $a:expr, dword, $m:expr, |$ins:ident, $op:ident| $call:expr, $name:ident) => {{
        let ($ins, $op) = (CodeAssembler::$name, dword_bcst($m));
        $call
    }};
    (@bcst evex, $a:expr, qword, $m:expr, |$ins:ident, $op:ident| $call:expr, $name:ident) => {{
        let ($ins, $op) = (CodeAssembler::$name, qword_bcst($m));
        $call
    }};
    (@bcst vex, $a:expr, dword, $m:expr, |$ins:ident, $op:ident| $call:expr, $name:ident) => {{
        $a.vbroadcastss(<AsmRegisterYmm as Vreg>::TMP, dword_ptr($m))?;
        let ($ins, $op) = (CodeAssembler::$name, <AsmRegisterYmm as Vreg>::TMP);
        $call
    }};
    (@bcst vex, $a:expr, qword, $m:expr, |$ins:ident, $op:ident| $call:expr, $name:ident) => {{
        $a.vbroadcastsd(<AsmRegisterYmm as Vreg>::TMP, qword_ptr($m))?;
        let ($ins, $op) = (CodeAssembler::$name, <AsmRegisterYmm as Vreg>::TMP);
        $call
    }};
}

/// A vector register kind the groups are assembled on, and its instructions: zmm
/// (EVEX, AVX-512F) and ymm (VEX, AVX2 + FMA). `common!` writes those the two
/// spell alike (given the bitwise mnemonics); each kind writes its broadcast from
/// rax and its blend.
trait Vreg: Copy + Eq + Sized + 'static {
    /// Bytes of one register.
    const BYTES: i32;
    /// The sign bit in every lane, and one.
    const SIGN: Self;
    const ONE: Self;
    /// Where VEX code broadcasts a number first (it has no embedded broadcast);
    /// never allocated there. EVEX code never uses it.
    const TMP: Self;
    /// Whether a comparison writes a mask register (k1) rather than a vector.
    const MASKS: bool;
    /// The registers to allocate, last first.
    fn allocatable() -> Vec<Self>;
    /// d = x ∘ y.
    fn bin(
        a: &mut CodeAssembler,
        wide: bool,
        f: Bin,
        d: Self,
        x: Self,
        y: Arg<Self>,
    ) -> Result<(), IcedError>;
    /// d = y (a vector, or a number broadcast).
    fn load(a: &mut CodeAssembler, wide: bool, d: Self, y: Arg<Self>) -> Result<(), IcedError>;
    fn store(
        a: &mut CodeAssembler,
        wide: bool,
        m: AsmMemoryOperand,
        x: Self,
    ) -> Result<(), IcedError>;
    fn mov(a: &mut CodeAssembler, d: Self, x: Self) -> Result<(), IcedError>;
    fn sqrt(a: &mut CodeAssembler, wide: bool, d: Self, y: Arg<Self>) -> Result<(), IcedError>;
    /// d = x·y + d or d = d·x + y, rounded once.
    fn fma(
        a: &mut CodeAssembler,
        w: bool,
        f: Fma,
        d: Self,
        x: Self,
        y: Arg<Self>,
    ) -> Result<(), IcedError>;
    /// Each lane's integer bits shifted left (the exponent of 2^k).
    fn shift_left(a: &mut CodeAssembler, wide: bool, d: Self, bits: u32) -> Result<(), IcedError>;
    /// Every lane = the number in rax (its bits).
    fn splat_rax(a: &mut CodeAssembler, wide: bool, d: Self) -> Result<(), IcedError>;
    /// mask = x PRED y: k1 where `MASKS` (`mask` unused), else `mask`.
    fn compare(
        a: &mut CodeAssembler,
        w: bool,
        pred: i32,
        mask: Self,
        x: Self,
        y: Arg<Self>,
    ) -> Result<(), IcedError>;
    /// d = mask ? then : other, the mask `compare` wrote.
    fn blend(
        a: &mut CodeAssembler,
        w: bool,
        d: Self,
        mask: Self,
        then: Arg<Self>,
        other: Self,
    ) -> Result<(), IcedError>;
}

/// The instructions of a register kind whose vector operand is `$full` and
/// broadcast `$bcst`; the bitwise ops' f32 and f64 mnemonics follow (EVEX names
/// the lane width, VEX does not).
macro_rules! common {
    ($full:ident, $bcst:ident, [$xs:ident, $xd:ident, $ns:ident, $nd:ident, $as:ident, $ad:ident, $os:ident, $od:ident],
     $mask:ident => $dst:expr) => {
        fn compare(
            a: &mut CodeAssembler,
            w: bool,
            pred: i32,
            $mask: Self,
            x: Self,
            y: Arg<Self>,
        ) -> Result<(), IcedError> {
            let dst = $dst;
            forms!(
                a,
                $full,
                $bcst,
                w,
                y,
                |ins, o| ins(a, dst, x, o, pred),
                vcmpps,
                vcmppd
            )
        }

        fn bin(
            a: &mut CodeAssembler,
            w: bool,
            f: Bin,
            d: Self,
            x: Self,
            y: Arg<Self>,
        ) -> Result<(), IcedError> {
            match f {
                Bin::Add => two!(a, $full, $bcst, w, y, d, x, vaddps, vaddpd),
                Bin::Sub => two!(a, $full, $bcst, w, y, d, x, vsubps, vsubpd),
                Bin::Mul => two!(a, $full, $bcst, w, y, d, x, vmulps, vmulpd),
                Bin::Div => two!(a, $full, $bcst, w, y, d, x, vdivps, vdivpd),
                Bin::Min => two!(a, $full, $bcst, w, y, d, x, vminps, vminpd),
                Bin::Max => two!(a, $full, $bcst, w, y, d, x, vmaxps, vmaxpd),
                Bin::Xor => two!(a, $full, $bcst, w, y, d, x, $xs, $xd),
                Bin::AndNot => two!(a, $full, $bcst, w, y, d, x, $ns, $nd),
                Bin::And => two!(a, $full, $bcst, w, y, d, x, $as, $ad),
                Bin::Or => two!(a, $full, $bcst, w, y, d, x, $os, $od),
            }
        }

        fn load(a: &mut CodeAssembler, wide: bool, d: Self, y: Arg<Self>) -> Result<(), IcedError> {
            match (y, wide) {
                (Arg::Reg(r), _) => Self::mov(a, d, r),
                (Arg::Full(m), false) => a.vmovups(d, $full(m)),
                (Arg::Full(m), true) => a.vmovupd(d, $full(m)),
                (Arg::Bcst(m), false) => a.vbroadcastss(d, dword_ptr(m)),
                (Arg::Bcst(m), true) => a.vbroadcastsd(d, qword_ptr(m)),
            }
        }

        fn store(
            a: &mut CodeAssembler,
            wide: bool,
            m: AsmMemoryOperand,
            x: Self,
        ) -> Result<(), IcedError> {
            match wide {
                true => a.vmovupd($full(m), x),
                false => a.vmovups($full(m), x),
            }
        }

        fn mov(a: &mut CodeAssembler, d: Self, x: Self) -> Result<(), IcedError> {
            if d != x {
                a.vmovaps(d, x)?;
            }
            Ok(())
        }

        fn sqrt(a: &mut CodeAssembler, wide: bool, d: Self, y: Arg<Self>) -> Result<(), IcedError> {
            match y {
                Arg::Bcst(_) => {
                    Self::load(a, wide, d, y)?;
                    Self::sqrt(a, wide, d, Arg::Reg(d))
                }
                Arg::Reg(r) if wide => a.vsqrtpd(d, r),
                Arg::Reg(r) => a.vsqrtps(d, r),
                Arg::Full(m) if wide => a.vsqrtpd(d, $full(m)),
                Arg::Full(m) => a.vsqrtps(d, $full(m)),
            }
        }

        fn fma(
            a: &mut CodeAssembler,
            w: bool,
            f: Fma,
            d: Self,
            x: Self,
            y: Arg<Self>,
        ) -> Result<(), IcedError> {
            match f {
                Fma::XyPlusD => two!(a, $full, $bcst, w, y, d, x, vfmadd231ps, vfmadd231pd),
                Fma::DxPlusY => two!(a, $full, $bcst, w, y, d, x, vfmadd213ps, vfmadd213pd),
            }
        }

        fn shift_left(
            a: &mut CodeAssembler,
            wide: bool,
            d: Self,
            bits: u32,
        ) -> Result<(), IcedError> {
            match wide {
                true => a.vpsllq(d, d, bits),
                false => a.vpslld(d, d, bits),
            }
        }
    };
}

/// `forms!` for d = x ∘ y (one line, so the tables below stay tables).
macro_rules! two {
    ($a:ident, $full:ident, $bcst:ident, $w:ident, $y:ident, $d:ident, $x:ident, $ps:ident, $pd:ident) => {
        forms!(
            $a,
            $full,
            $bcst,
            $w,
            $y,
            |ins, o| ins($a, $d, $x, o),
            $ps,
            $pd
        )
    };
}

impl Vreg for AsmRegisterZmm {
    const BYTES: i32 = 64;
    const SIGN: Self = zmm31;
    const ONE: Self = zmm30;
    const TMP: Self = zmm29;
    const MASKS: bool = true;

    fn allocatable() -> Vec<Self> {
        let all = [
            zmm0, zmm1, zmm2, zmm3, zmm4, zmm5, zmm6, zmm7, zmm8, zmm9, zmm10, zmm11, zmm12, zmm13,
            zmm14, zmm15, zmm16, zmm17, zmm18, zmm19, zmm20, zmm21, zmm22, zmm23, zmm24, zmm25,
            zmm26, zmm27, zmm28, zmm29,
        ];
        all.into_iter().rev().collect()
    }

    common!(
        zmmword_ptr,
        evex,
        [vpxord, vpxorq, vpandnd, vpandnq, vpandd, vpandq, vpord, vporq],
        _mask => k1
    );

    fn splat_rax(a: &mut CodeAssembler, wide: bool, d: Self) -> Result<(), IcedError> {
        match wide {
            true => a.vpbroadcastq(d, rax),
            false => a.vpbroadcastd(d, eax),
        }
    }

    fn blend(
        a: &mut CodeAssembler,
        w: bool,
        d: Self,
        _mask: Self,
        then: Arg<Self>,
        other: Self,
    ) -> Result<(), IcedError> {
        let d_k1 = d.k1();
        two!(
            a,
            zmmword_ptr,
            evex,
            w,
            then,
            d_k1,
            other,
            vblendmps,
            vblendmpd
        )
    }
}

impl Vreg for AsmRegisterYmm {
    const BYTES: i32 = 32;
    const SIGN: Self = ymm15;
    const ONE: Self = ymm14;
    const TMP: Self = ymm13;
    const MASKS: bool = false;

    fn allocatable() -> Vec<Self> {
        let all = [
            ymm0, ymm1, ymm2, ymm3, ymm4, ymm5, ymm6, ymm7, ymm8, ymm9, ymm10, ymm11, ymm12,
        ];
        all.into_iter().rev().collect()
    }

    // VEX's integer bitwise ops have one form for every lane width.
    common!(
        ymmword_ptr,
        vex,
        [vpxor, vpxor, vpandn, vpandn, vpand, vpand, vpor, vpor],
        mask => mask
    );

    fn splat_rax(a: &mut CodeAssembler, wide: bool, d: Self) -> Result<(), IcedError> {
        // TMP's low half.
        let low = xmm13;
        a.vmovq(low, rax)?;
        match wide {
            true => a.vpbroadcastq(d, low),
            false => a.vpbroadcastd(d, low),
        }
    }

    fn blend(
        a: &mut CodeAssembler,
        w: bool,
        d: Self,
        mask: Self,
        then: Arg<Self>,
        other: Self,
    ) -> Result<(), IcedError> {
        let then = match then {
            Arg::Reg(r) => r,
            m => {
                Self::load(a, w, Self::TMP, m)?;
                Self::TMP
            }
        };
        match w {
            true => a.vblendvpd(d, other, then, mask),
            false => a.vblendvps(d, other, then, mask),
        }
    }
}

/// General registers (all caller-saved in the System V ABI).
const SCRATCH: AsmRegister64 = rdi;
const UNIFORM: AsmRegister64 = rsi;
/// scratch and uniform moved to the current entry.
const SCRATCH_E: AsmRegister64 = r8;
const UNIFORM_E: AsmRegister64 = r9;
/// Byte offset of the current vector in the tile.
const AT: AsmRegister64 = rax;
/// The current entry.
const ENTRY: AsmRegister64 = r10;
/// For input columns: col0 and stride arrive in rdx and rcx.
const COLUMN_REGS: [AsmRegister64; 3] = [r11, rdx, rcx];

struct Emit<'a, R> {
    a: CodeAssembler,
    l: &'a Layout<'a>,
    group: &'a Group,
    free: Vec<R>,
    /// The register of each of the group's values while it is live.
    regs: Vec<Option<R>>,
    /// For each of the group's values, the last op of the group that reads it.
    last_read: Vec<Option<usize>>,
    /// Input columns read, in the order of `COLUMN_REGS`.
    cols: Vec<u32>,
    /// Constants (their bits) placed after the code, each at its label.
    consts: Vec<(u64, CodeLabel)>,
}

/// Why a group is left to Cranelift.
#[derive(Debug)]
struct Unsupported;

impl From<IcedError> for Unsupported {
    fn from(_: IcedError) -> Unsupported {
        Unsupported
    }
}

impl<'a, R: Vreg> Emit<'a, R> {
    /// The machine code of `group`, unless Cranelift must keep it.
    fn group(l: &'a Layout<'a>, group: &'a Group) -> Result<Vec<u8>, Unsupported> {
        let n = group.ops.len();
        let mut last_read = vec![None; n];
        for (k, &i) in group.ops.iter().enumerate() {
            for v in l.prog.ops[i].operands() {
                if let Some(j) = group.ops.iter().position(|&g| g == v.index()) {
                    last_read[j] = Some(k);
                }
            }
        }
        let mut e = Emit {
            a: CodeAssembler::new(64)?,
            l,
            group,
            free: R::allocatable(),
            regs: vec![None; n],
            last_read,
            cols: vec![],
            consts: vec![],
        };
        for &i in &group.ops {
            e.check(i)?;
        }
        e.function()?;
        Ok(e.a.assemble(0)?)
    }

    /// Whether op i is one this module assembles; records its input columns.
    fn check(&mut self, i: usize) -> Result<(), Unsupported> {
        match self.l.prog.ops[i] {
            Op::Add(..) | Op::Sub(..) | Op::Mul(..) | Op::Div(..) | Op::Neg(..) => {}
            Op::Powi(..) | Op::Select { .. } => {}
            Op::Func(Func::Sqrt | Func::Abs | Func::Tanh | Func::Exp, _) => {}
            _ => return Err(Unsupported),
        }
        for v in self.l.prog.ops[i].operands() {
            if let Loc::Input(c) = self.l.loc[v.index()] {
                if !self.cols.contains(&c) {
                    self.cols.push(c);
                }
            }
        }
        if self.cols.len() > COLUMN_REGS.len() {
            return Err(Unsupported);
        }
        Ok(())
    }

    /// Prologue, the loops over entries and vectors around the body, epilogue.
    fn function(&mut self) -> Result<(), Unsupported> {
        let a = &mut self.a;
        // Column registers first: rdx and rcx (col0, stride) are among them.
        let (col0, stride) = (rdx, rcx);
        a.mov(r10, col0)?;
        a.mov(r11, stride)?;
        for (k, &c) in self.cols.iter().enumerate().rev() {
            let reg = COLUMN_REGS[k];
            a.imul_3(AT, r11, c as i32)?;
            a.add(AT, r10)?;
            a.mov(reg, AT)?;
        }
        let (sign, one) = if self.l.wide {
            (0x8000_0000_0000_0000u64, 1f64.to_bits())
        } else {
            (0x8000_0000, 1f32.to_bits() as u64)
        };
        for (reg, bits) in [(R::SIGN, sign), (R::ONE, one)] {
            a.mov(AT, bits)?;
            R::splat_rax(a, self.l.wide, reg)?;
        }
        a.mov(SCRATCH_E, SCRATCH)?;
        a.mov(UNIFORM_E, UNIFORM)?;
        a.xor(ENTRY, ENTRY)?;
        let mut entry = a.create_label();
        a.set_label(&mut entry)?;
        a.xor(AT, AT)?;
        let mut vector = self.a.create_label();
        self.a.set_label(&mut vector)?;
        for k in 0..self.group.ops.len() {
            self.op(k)?;
        }
        let a = &mut self.a;
        a.add(AT, R::BYTES)?;
        a.cmp(AT, self.l.entry_bytes as i32)?;
        a.jb(vector)?;
        a.add(SCRATCH_E, self.l.entry_bytes as i32)?;
        a.add(UNIFORM_E, VB as i32)?;
        a.inc(ENTRY)?;
        let width = self.l.prog.types[self.group.ops[0]].width;
        a.cmp(ENTRY, width as i32)?;
        a.jb(entry)?;
        a.vzeroupper()?;
        a.ret()?;
        for (bits, mut label) in std::mem::take(&mut self.consts) {
            self.a.set_label(&mut label)?;
            match self.l.wide {
                true => self.a.dq(&[bits])?,
                false => self.a.dd(&[bits as u32])?,
            }
        }
        Ok(())
    }

    /// Where value v is for the current entry and vector.
    fn arg(&self, v: usize) -> Arg<R> {
        if let Some(k) = self.group.ops.iter().position(|&g| g == v) {
            return Arg::Reg(self.regs[k].expect("a group value is live where it is read"));
        }
        let wide = self.l.prog.types[v].width > 1;
        match self.l.loc[v] {
            Loc::Slot(off) if wide => Arg::Full(SCRATCH_E + AT + off as i32),
            Loc::Slot(off) => Arg::Full(SCRATCH + AT + off as i32),
            Loc::Uniform(off) if wide => Arg::Bcst(UNIFORM_E + off as i32),
            Loc::Uniform(off) => Arg::Bcst(UNIFORM + off as i32),
            Loc::Input(c) => {
                let k = self.cols.iter().position(|&x| x == c);
                Arg::Full(COLUMN_REGS[k.expect("columns are checked")] + AT)
            }
            Loc::Register | Loc::Sink => unreachable!("operands outside a group are in memory"),
        }
    }

    fn alloc(&mut self) -> Result<R, Unsupported> {
        self.free.pop().ok_or(Unsupported)
    }

    /// Op k of the group: its result in a fresh register, stored if read later,
    /// and the registers of values no longer read freed.
    fn op(&mut self, k: usize) -> Result<(), Unsupported> {
        let i = self.group.ops[k];
        let op = self.l.prog.ops[i].clone();
        let args: Vec<Arg<R>> = op.operands().iter().map(|v| self.arg(v.index())).collect();
        let d = self.alloc()?;
        match op {
            Op::Add(..) => self.commutative(Bin::Add, d, args[0], args[1])?,
            Op::Mul(..) => self.commutative(Bin::Mul, d, args[0], args[1])?,
            Op::Sub(..) => {
                let x = self.reg(d, args[0])?;
                self.bin(Bin::Sub, d, x, args[1])?;
            }
            Op::Div(..) => {
                let x = self.reg(d, args[0])?;
                self.bin(Bin::Div, d, x, args[1])?;
            }
            Op::Neg(_) => self.commutative(Bin::Xor, d, Arg::Reg(R::SIGN), args[0])?,
            Op::Func(Func::Abs, _) => self.bin(Bin::AndNot, d, R::SIGN, args[0])?,
            Op::Func(Func::Sqrt, _) => self.sqrt(d, args[0])?,
            Op::Func(Func::Tanh, _) => self.tanh(d, args[0])?,
            Op::Func(Func::Exp, _) => self.exp(d, args[0])?,
            Op::Powi(_, n) => self.powi(d, args[0], n)?,
            Op::Select { cmp, .. } => self.select(d, cmp, &args)?,
            _ => unreachable!("checked"),
        }
        self.regs[k] = Some(d);
        if let Loc::Slot(off) = self.l.loc[i] {
            let wide = self.l.prog.types[i].width > 1;
            let base = if wide { SCRATCH_E } else { SCRATCH };
            self.store(base + AT + off as i32, d)?;
        }
        for (j, reg) in self.regs.iter_mut().enumerate() {
            let dead = self.last_read[j].is_none_or(|r| r <= k);
            if let (Some(r), true) = (*reg, dead && j <= k) {
                self.free.push(r);
                *reg = None;
            }
        }
        Ok(())
    }

    /// x in a register: itself, or loaded into d.
    fn reg(&mut self, d: R, x: Arg<R>) -> Result<R, Unsupported> {
        if let Arg::Reg(r) = x {
            return Ok(r);
        }
        R::load(&mut self.a, self.l.wide, d, x)?;
        Ok(d)
    }

    fn store(&mut self, m: AsmMemoryOperand, x: R) -> Result<(), Unsupported> {
        Ok(R::store(&mut self.a, self.l.wide, m, x)?)
    }

    /// d = x ∘ y for a commutative ∘: whichever operand is in a register first.
    fn commutative(&mut self, f: Bin, d: R, x: Arg<R>, y: Arg<R>) -> Result<(), Unsupported> {
        match (x, y) {
            (Arg::Reg(r), y) => self.bin(f, d, r, y),
            (x, Arg::Reg(r)) => self.bin(f, d, r, x),
            (x, y) => {
                let r = self.reg(d, x)?;
                self.bin(f, d, r, y)
            }
        }
    }

    fn sqrt(&mut self, d: R, x: Arg<R>) -> Result<(), Unsupported> {
        Ok(R::sqrt(&mut self.a, self.l.wide, d, x)?)
    }

    /// x^n by binary powering in `clif::powi`'s order (d = the running result,
    /// t = the running square).
    fn powi(&mut self, d: R, x: Arg<R>, n: i32) -> Result<(), Unsupported> {
        let t = self.alloc()?;
        let x = self.reg(t, x)?;
        self.mov(t, x)?;
        let mut e = n.unsigned_abs();
        let mut any = false;
        loop {
            if e & 1 == 1 {
                match any {
                    false => self.mov(d, t)?,
                    true => self.bin(Bin::Mul, d, d, Arg::Reg(t))?,
                }
                any = true;
            }
            e /= 2;
            if e == 0 {
                break;
            }
            self.bin(Bin::Mul, t, t, Arg::Reg(t))?;
        }
        if !any {
            self.mov(d, R::ONE)?;
        }
        if n < 0 {
            self.bin(Bin::Div, d, R::ONE, Arg::Reg(d))?;
        }
        self.free.push(t);
        Ok(())
    }

    fn mov(&mut self, d: R, x: R) -> Result<(), Unsupported> {
        Ok(R::mov(&mut self.a, d, x)?)
    }

    /// d = a CMP b ? then : other, as Cranelift's ordered `fcmp` and `bitselect`.
    fn select(&mut self, d: R, cmp: Cmp, args: &[Arg<R>]) -> Result<(), Unsupported> {
        let pred = match cmp {
            Cmp::Lt => 0x11, // LT_OQ
            Cmp::Le => 0x12, // LE_OQ
            Cmp::Gt => 0x1e, // GT_OQ
            Cmp::Ge => 0x1d, // GE_OQ
        };
        let x = self.reg(d, args[0])?;
        // VEX compares into a vector: the mask needs a register of its own.
        let mask = if R::MASKS { d } else { self.alloc()? };
        let other = self.alloc()?;
        let other_reg = self.reg(other, args[3])?;
        let w = self.l.wide;
        R::compare(&mut self.a, w, pred, mask, x, args[1])?;
        R::blend(&mut self.a, w, d, mask, args[2], other_reg)?;
        self.free.push(other);
        if !R::MASKS {
            self.free.push(mask);
        }
        Ok(())
    }
}

/// tanh and exp: `micro::funcs`' algorithms (which are `vmath`'s) step for step, so
/// the same bits.
impl<R: Vreg> Emit<'_, R> {
    /// The number x in the kernel's precision, broadcast from the constants after
    /// the code.
    fn c(&mut self, x: f64) -> Result<Arg<R>, Unsupported> {
        let bits = match self.l.wide {
            true => x.to_bits(),
            false => (x as f32).to_bits() as u64,
        };
        let label = match self.consts.iter().find(|(b, _)| *b == bits) {
            Some(&(_, label)) => label,
            None => {
                let label = self.a.create_label();
                self.consts.push((bits, label));
                label
            }
        };
        Ok(Arg::Bcst(label.into()))
    }

    /// (2^k, expm1(r)) of y into (s, p), y = k·ln2 + r (`Consts::exp_parts`).
    fn exp_parts(&mut self, s: R, p: R, y: R) -> Result<(), Unsupported> {
        let w = self.l.wide as usize;
        let (hi, lo) = [LN2_F32, LN2_F64][w];
        let round = [12582912.0, 6755399441055744.0][w];
        let (k, r) = (self.alloc()?, self.alloc()?);
        let c = self.c(std::f64::consts::LOG2_E)?;
        self.bin(Bin::Mul, k, y, c)?;
        let c = self.c(round)?;
        self.bin(Bin::Add, k, k, c)?;
        self.bin(Bin::Sub, k, k, c)?;
        self.mov(r, y)?;
        for part in [hi, lo] {
            let c = self.c(-part)?;
            self.fma231(r, k, c)?;
        }
        let q = [TERMS_F32, TERMS_F64][w].expm1_coeffs();
        let c = self.c(q[q.len() - 1])?;
        self.reg(p, c)?;
        for &qj in q[..q.len() - 1].iter().rev() {
            let c = self.c(qj)?;
            self.fma213(p, r, c)?;
        }
        // p = (r·r)·q + r, with s holding r·r.
        self.bin(Bin::Mul, s, r, Arg::Reg(r))?;
        self.fma213(s, p, Arg::Reg(r))?;
        self.mov(p, s)?;
        let c = self.c(round + [127.0, 1023.0][w])?;
        self.bin(Bin::Add, s, k, c)?;
        R::shift_left(&mut self.a, self.l.wide, s, [23, 52][w])?;
        self.free.extend([k, r]);
        Ok(())
    }

    /// d = tanh x = sign(x)·e/(e + 2), e = expm1(2|x|) (`Consts::tanh`).
    fn tanh(&mut self, d: R, x: Arg<R>) -> Result<(), Unsupported> {
        let (xr, y, p) = (self.alloc()?, self.alloc()?, self.alloc()?);
        let x = self.reg(xr, x)?;
        self.bin(Bin::AndNot, y, R::SIGN, Arg::Reg(x))?;
        let two = self.c(2.0)?;
        self.bin(Bin::Mul, y, y, two)?;
        let cap = self.c(TANH_ARG_MAX[self.l.wide as usize])?;
        let cap = self.reg(p, cap)?;
        self.at_most(y, cap)?;
        self.exp_parts(d, p, y)?;
        // e = s·p + (s − 1), in y.
        self.bin(Bin::Sub, y, d, Arg::Reg(R::ONE))?;
        self.fma231(y, d, Arg::Reg(p))?;
        self.bin(Bin::Add, p, y, two)?;
        self.bin(Bin::Div, d, y, Arg::Reg(p))?;
        self.bin(Bin::And, y, R::SIGN, Arg::Reg(x))?;
        self.bin(Bin::Or, d, d, Arg::Reg(y))?;
        self.free.extend([xr, y, p]);
        Ok(())
    }

    /// d = exp x = s·p + s after clamping x to the format's range (`Consts::exp`).
    fn exp(&mut self, d: R, x: Arg<R>) -> Result<(), Unsupported> {
        let (y, p) = (self.alloc()?, self.alloc()?);
        let (lo, hi) = EXP_RANGE[self.l.wide as usize];
        let x = self.reg(y, x)?;
        let lo = self.c(lo)?;
        let lo = self.reg(p, lo)?;
        // max(x, lo) as `at_least`: lo > x ? lo : x, a NaN x kept.
        self.bin(Bin::Max, y, lo, Arg::Reg(x))?;
        let hi = self.c(hi)?;
        let hi = self.reg(p, hi)?;
        self.at_most(y, hi)?;
        self.exp_parts(d, p, y)?;
        self.fma231(d, d, Arg::Reg(p))?;
        self.free.extend([y, p]);
        Ok(())
    }

    /// y = min(y, hi) as `at_most`: hi < y ? hi : y, a NaN y kept (MINPS returns
    /// its second operand when either is a NaN).
    fn at_most(&mut self, y: R, hi: R) -> Result<(), Unsupported> {
        self.bin(Bin::Min, y, hi, Arg::Reg(y))
    }

    /// d = x·y + d, rounded once.
    fn fma231(&mut self, d: R, x: R, y: Arg<R>) -> Result<(), Unsupported> {
        Ok(R::fma(&mut self.a, self.l.wide, Fma::XyPlusD, d, x, y)?)
    }

    /// d = d·m + y, rounded once.
    fn fma213(&mut self, d: R, m: R, y: Arg<R>) -> Result<(), Unsupported> {
        Ok(R::fma(&mut self.a, self.l.wide, Fma::DxPlusY, d, m, y)?)
    }
}

/// The two fused multiply-adds the functions use.
#[derive(Clone, Copy)]
enum Fma {
    /// d = x·y + d.
    XyPlusD,
    /// d = d·x + y.
    DxPlusY,
}

/// The two-operand instructions: d = x ∘ y, x in a register, y anywhere.
#[derive(Clone, Copy)]
enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    /// Bitwise, for negation (with the sign mask).
    Xor,
    /// Bitwise ¬x ∧ y, for the absolute value (x the sign mask).
    AndNot,
    And,
    Or,
    /// x < y ? x : y, y where either is a NaN.
    Min,
    /// x > y ? x : y, y where either is a NaN.
    Max,
}

impl<R: Vreg> Emit<'_, R> {
    fn bin(&mut self, f: Bin, d: R, x: R, y: Arg<R>) -> Result<(), Unsupported> {
        Ok(R::bin(&mut self.a, self.l.wide, f, d, x, y)?)
    }
}
