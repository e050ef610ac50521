//! The pifs command-line tool.
