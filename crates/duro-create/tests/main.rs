//! The integration tests of `duro-create`, one test binary sharing one private PostgreSQL
//! cluster: the creator in process, the guards of a build, processor tables, replication and S3 load nodes,
//! hardening against untrusted repository text, and the binary as people and supervisors run it (the daemon, `kill -9`).

mod build_guards;
mod cli;
mod creator;
mod daemon;
mod hardening;
mod processors;
mod replication;
mod s3_load;
mod support;
