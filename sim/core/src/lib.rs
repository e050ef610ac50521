//! System simulation of one switch port: accumulator trait with RTL and reference backends, device model, stats.
