//! DLRM embedding workloads: npz/npy traces and weights (whole or a streamed subset), synthetic
//! weights, RM1-RM3 generators (uniform, Zipf, LRU stack-distance profiles), trace statistics,
//! float64 pooling reference.
//!
//! Traces use the FBGEMM table-batched layout (`indices`, `offsets`, optional `lengths`, DESIGN.md
//! section 7); weights are either `.npz` tables or the synthetic splitmix formula. The `.npy`/`.npz`
//! codec is written here (header parsed by hand) so that every malformed input becomes one
//! [`DlrmError`] line naming the file, the array and the problem.

mod error;
mod format;
mod gen;
mod npy;
mod pool;
mod select;
mod stackdist;
mod stats;
mod trace;
mod weights;

pub use error::DlrmError;
pub use format::{f16_to_f32, f32_to_f16, RowFormat, INT8_HEADER};
pub use gen::{generate, preset, IndexDist, ModelPreset, RowScatter, ZipfSampler, RM1, RM2, RM3};
pub use npy::{Dtype, NpyArray, NpyData};
pub use pool::{pool_f64, pool_f64_in, PooledF64};
pub use select::{
    format_index_list, parse_index_list, parse_range, read_trace_npz_subset, RangeListError,
    MAX_LIST_LEN,
};
pub use stackdist::{LruStream, StackProfile, CDF_END_TOLERANCE};
pub use stats::{
    reuse_bounds, reuse_bucket, trace_stats, Pooling, ReuseBucket, TableStats, TraceStats,
};
pub use trace::{read_trace_npz, read_trace_npz_bytes, write_trace_npz, Trace};
pub use weights::{
    read_npy, read_npy_f32, read_weights_npz, read_weights_npz_bytes, synthetic_weight,
    write_npy_f32, write_weights_npz, write_weights_npz_format, PackedTable, Table, Weights,
};
