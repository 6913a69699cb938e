//! Host kernel emulator (placeholder while being written).
use crate::abi::{rcUnimplemented, Retcode};
use crate::backend::{Args, Backend};
use crate::op::Op;

/// The emulator backend.
pub struct Emulator;
/// The process-wide emulator instance.
pub static EMULATOR: Emulator = Emulator;
impl Backend for Emulator {
    fn forward(&self, _op: Op, _args: &mut Args<'_>) -> Retcode {
        rcUnimplemented
    }
    fn name(&self) -> &'static str {
        "host"
    }
}
