//! Integration and snapshot tests of the PIFS-Rec workbench live in `tests/`;
//! this crate has no code of its own.
