//! The integration tests of `duro-schedule`, one test binary: the binary as users run it.

mod cli;
