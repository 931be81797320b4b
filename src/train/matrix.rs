//! Where a dense quasi-Newton phase keeps its n×n H, the trainer's side (issue 21):
//! on the GPU engine's device or on the host, whichever makes the phase's one pass
//! over H per iteration faster. A GPU streams a large H at its memory's bandwidth,
//! tens of times the host's, but a small one costs the host microseconds, less than
//! a submission and its read-back; so where the engine offers a device
//! ([`MatrixOffer`]) the phase times a pass on each side at its start and keeps H on
//! the faster. A clock decides, as for `--backend auto`: the optimizers themselves
//! stay clock-free, and a setting (`PDENET_GPU_MATRIX=device|host`) fixes the
//! choice where reruns must agree bit for bit.

use crate::backend::{DeviceMatrix, MatrixOffer};
use crate::kernel::KernelError;
use crate::train::optim::dense;

/// What one pass over H took at a dense phase's start, on the host and on the device
/// it was offered, median milliseconds: the figures [`place`] chose by.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PassTimes {
    pub host_ms: f64,
    pub device_ms: f64,
}

/// Where a dense phase keeps H: on the device an engine offers if a setting forced
/// it there or a pass there is timed faster than the host's on `threads` threads
/// (with both timings), else on the host. A device that fails while timed is not
/// used.
pub fn place(
    offer: Option<MatrixOffer>,
    threads: usize,
) -> (Option<Box<dyn DeviceMatrix>>, Option<PassTimes>) {
    let Some(mut offer) = offer else {
        return (None, None);
    };
    if offer.forced {
        return (Some(offer.matrix), None);
    }
    match time_passes(offer.matrix.as_mut(), threads) {
        Ok(t) if t.device_ms < t.host_ms => (Some(offer.matrix), Some(t)),
        Ok(t) => (None, Some(t)),
        Err(_) => (None, None),
    }
}

/// Passes timed per side, after one untimed (a GPU compiles its pipeline then).
const TIMED_PASSES: usize = 3;

/// The host's timed band of rows: about 64 MiB, more than the caches hold, so that
/// it streams from memory as a whole H does.
const BAND_BYTES: usize = 64 << 20;

/// A pass's median milliseconds on the host and on `device`, each applying an update
/// that changes nothing, so that the device's H is as it was. The host times a band
/// of rows and scales it to the order: a whole H on both sides at once would be
/// twice the memory the phase needs.
fn time_passes(device: &mut dyn DeviceMatrix, threads: usize) -> Result<PassTimes, KernelError> {
    let n = device.order();
    let zeros = vec![0.0; n];
    let device_ms = median_ms(|| dense::unchanged_device_pass(device, &zeros))?;
    let band = (BAND_BYTES / (8 * n.max(1))).clamp(1, n.max(1));
    let mut rows = vec![0.0; band * n];
    let band_ms = median_ms(|| {
        dense::unchanged_host_pass(&mut rows, &zeros, threads);
        Ok(())
    })?;
    Ok(PassTimes {
        host_ms: band_ms * n as f64 / band as f64,
        device_ms,
    })
}

/// The median milliseconds of [`TIMED_PASSES`] runs of `pass`, after one untimed.
fn median_ms(mut pass: impl FnMut() -> Result<(), KernelError>) -> Result<f64, KernelError> {
    let mut ms = Vec::with_capacity(TIMED_PASSES);
    for k in 0..=TIMED_PASSES {
        let t0 = std::time::Instant::now();
        pass()?;
        if k > 0 {
            ms.push(t0.elapsed().as_secs_f64() * 1e3);
        }
    }
    ms.sort_by(f64::total_cmp);
    Ok(ms[ms.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::optim::tests::FakeMatrix;
    /// Where a dense phase keeps H: nowhere offered, the host; a device a setting forced,
    /// that device, untimed and unused; a device offered for timing, the side whose pass
    /// was timed faster, both timings given. Timing leaves the device's H as it was
    /// (its update changes nothing), so a resumed phase's H is intact.
    #[test]
    fn a_dense_h_goes_where_its_pass_is_faster() {
        let n = 12;
        let planted: Vec<f64> = (0..n * n).map(|k| (k as f64 * 0.37).sin()).collect();
        let fake = || FakeMatrix {
            n,
            h: planted.clone(),
            passes: 0,
            fail_at: None,
        };
        assert!(matches!(place(None, 1), (None, None)));
        let forced = MatrixOffer {
            matrix: Box::new(fake()),
            forced: true,
        };
        let (matrix, timed) = place(Some(forced), 1);
        assert_eq!(
            matrix.expect("the forced device").read(),
            Ok(planted.clone())
        );
        assert_eq!(timed, None);
        let mut device = fake();
        let t = time_passes(&mut device, 2).expect("a fake that does not fail");
        assert!(t.host_ms > 0.0 && t.device_ms > 0.0, "{t:?}");
        assert_eq!(device.passes, 4);
        assert_eq!(device.read(), Ok(planted.clone()));
        let offered = MatrixOffer {
            matrix: Box::new(fake()),
            forced: false,
        };
        let (matrix, timed) = place(Some(offered), 1);
        let t = timed.expect("timed");
        assert_eq!(matrix.is_some(), t.device_ms < t.host_ms, "{t:?}");
        let failing = MatrixOffer {
            matrix: Box::new(FakeMatrix {
                fail_at: Some(1),
                ..fake()
            }),
            forced: false,
        };
        assert!(matches!(place(Some(failing), 1), (None, None)));
    }
}
