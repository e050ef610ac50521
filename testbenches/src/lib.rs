//! Reusable testbench pieces: stimulus sequences, drivers with stalls, monitors and the bit-exact scoreboard.
