//! DLRM embedding workloads: npz/npy traces and weights, synthetic weights and RM1-RM3 generators, float64 pooling reference.
//!
//! Traces use the FBGEMM table-batched layout (`indices`, `offsets`, optional `lengths`, DESIGN.md
//! section 7); weights are either `.npz` tables or the synthetic splitmix formula. The `.npy`/`.npz`
//! codec is written here (header parsed by hand) so that every malformed input becomes one
//! [`DlrmError`] line naming the file, the array and the problem.

mod error;
mod gen;
mod npy;
mod pool;
mod trace;
mod weights;

pub use error::DlrmError;
pub use gen::{generate, preset, IndexDist, ModelPreset, RowScatter, ZipfSampler, RM1, RM2, RM3};
pub use npy::{Dtype, NpyArray, NpyData};
pub use pool::{pool_f64, PooledF64};
pub use trace::{read_trace_npz, write_trace_npz, Trace};
pub use weights::{
    read_npy, read_npy_f32, read_weights_npz, synthetic_weight, write_npy_f32, write_weights_npz,
    Table, Weights,
};
