//! DLRM embedding workloads: npz/npy traces and weights, synthetic weights and RM1-RM3 generators, float64 pooling reference.
