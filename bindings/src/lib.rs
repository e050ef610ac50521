//! cxx bindings around the Verilated switch-port model: ownership, reset, batched stepping, waves.
