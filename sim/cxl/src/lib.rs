//! CXL.mem messages and the 68-byte flit codec (both directions, with CRC), packers and decoders.
